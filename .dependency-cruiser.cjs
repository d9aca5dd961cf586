/**
 * Which room may import which (docs/architecture.md, "Code layout"). `npm run lint` enforces it.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const room = (from, allowed) => ({
  name: `${from}-imports-only-${allowed.join('-') || 'itself'}`,
  severity: 'error',
  from: { path: `^${from}/` },
  to: {
    path: '^(workflow|sql|handlers|local|cli|stacks|emulator|rehearsal|bench|__tests__|glue-scripts|main\\.ts)',
    pathNot: [`^${from}/`, ...allowed.map((path) => `^${path}`)],
  },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    room('workflow', ['sql/']),
    room('handlers', ['workflow/', 'sql/']),
    room('local', ['workflow/', 'handlers/', 'sql/']),
    room('cli', ['local/', 'workflow/', 'handlers/', 'sql/', 'stacks/config\\.ts']),
    room('stacks', ['workflow/', 'sql/']),
    room('emulator', []),
    room('rehearsal', ['emulator/', 'stacks/']),
    room('bench', ['local/', 'cli/', 'workflow/', 'handlers/', 'sql/']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|cdktf\\.out|\\.gen)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
