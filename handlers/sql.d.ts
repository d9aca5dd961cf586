/** `sql/` files imported by the Lambda entry points; esbuild embeds them with `loader: { '.sql': 'text' }`. */
declare module '*.sql' {
  const text: string;
  export default text;
}
