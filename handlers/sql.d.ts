/** `sql/` files imported by the Lambda entry points; esbuild embeds them with `loader: { '.sql': 'text' }`. */
declare module '*.sql' {
  const text: string;
  export default text;
}

/** `sql/rule/` fragments (a list of CTEs) that statements include; embedded as text like `sql/` files. */
declare module '*.ctes' {
  const text: string;
  export default text;
}
