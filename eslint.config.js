// Lint rules kept small on purpose: the type checker does most of the work. The import rules enforce
// the layers (DESIGN.md): cli/dev/testing → controllers/agent → runtime/policy/placement/dataplane
// (and the other libraries) → api/util; no import cycles; the CLI never imports bench/ or test/.
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/** Folders of src/ by layer, lowest first: a folder may import its own layer and the ones below. */
const LAYERS = [
  ['api', 'util'],
  ['runtime', 'policy', 'placement', 'dataplane', 'manifests', 'validate', 'gen', 'apiserver', 'analyze'],
  ['controllers', 'agent'],
  ['cli', 'dev', 'testing', 'ui'],
];

/** import-x/no-restricted-paths zones: each layer's folders may not import from any higher layer. */
const layerZones = LAYERS.flatMap((layer, i) =>
  layer.map((dir) => ({
    target: `./src/${dir}`,
    from: [...LAYERS.slice(i + 1).flat().map((d) => `./src/${d}`), './bench', './test'],
    message: `src/${dir} is in layer ${i}: it may not import from a higher layer (see eslint.config.js LAYERS).`,
  })),
);
// Siblings in the controllers/agent layer stay independent, except the shared names (Lease, namespace).
const siblingZones = [
  { target: './src/agent', from: './src/controllers', except: ['./names.ts'], message: 'the agent may import only controllers/names from the operator.' },
  { target: './src/controllers', from: './src/agent', message: 'the operator may not import the agent.' },
  // The embedded API server is a program of its own: its modules (CEL, Ajv) cost an operator or agent
  // start about 0.2 s for nothing. Shared limits live in src/api.
  { target: ['./src/controllers', './src/agent', './src/runtime'], from: './src/apiserver', message: 'the operator, the agent and the runtime may not import the embedded API server (shared values belong in src/api).' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'crds/**', 'bench/results/**', '.vmsafe/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      // Follow imports into TypeScript files (for no-cycle), parsed as the rest of the lint does.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...siblingZones] }],
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
