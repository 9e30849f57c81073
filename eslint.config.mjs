// `npm run lint` (with prettier --check and dependency-cruiser): typescript-eslint's recommended rules, and the doors
// of docs/architecture.md as no-restricted-imports: a module is imported through its index.ts, a library through
// @kiroku/<lib>. dependency-cruiser (.dependency-cruiser.cjs) checks the same on resolved paths, plus the layers
// and cycles; these rules say it in the editor, on the import line.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TS = ['**/*.ts'];
const CJS = ['**/*.js', '**/*.cjs'];
const BROWSER = ['src/modules/web/static/**/*.js'];

// Patterns of no-restricted-imports (regex on the import string). A flat config block that sets the rule replaces
// what an earlier block set, so every block below carries the patterns for all files plus its own.
const pattern = (regex, message) => ({ regex, message, caseSensitive: true });
const PAST_LIB_DOOR = pattern('^@kiroku/[^/]+/', 'Import a library through its door: @kiroku/<lib>, nothing past it.');
const EVERYWHERE = [PAST_LIB_DOOR, pattern('^\\.\\.?/(\\.\\./)*(.*/)?libs(/|$)', 'Import a library as @kiroku/<lib>, not by a relative path into libs/.')];
const OUTSIDE_MODULES = [
  pattern('^\\.\\.?/(\\.\\./)*(src/)?modules/[^/]+/.', "Import a module through its door (its folder, e.g. '../src/modules/notes'), nothing past it."),
];
// A file `depth` folders below src/modules/<m>/: one `../` more than that reaches the other modules, two more leave
// src/modules (the app files, src/*.ts, are the top layer: a module never imports them).
const insideModule = (depth) => {
  const up = '(\\.\\./)'.repeat(depth + 1);
  return [
    pattern(`^${up}(?!\\.\\./)[^/]+/.`, "Import another module through its door (its folder, e.g. '../notes'), nothing past it."),
    pattern(`^${up}\\.\\./`, 'Nothing outside src/modules by a relative path: libraries as @kiroku/<lib>; never the app files of src/ (the top layer).'),
  ];
};
// A file `depth` folders below libs/<lib>/src/: two `../` more leave the library.
const insideLib = (depth) => [pattern(`^${'(\\.\\./)'.repeat(depth + 2)}`, 'A library imports other libraries as @kiroku/<lib> and never src/.')];
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

// bench, scripts and the test fixtures are CommonJS and require the built files under dist/ by computed paths
// (join(root, 'dist/...')); the same doors hold for those path strings.
// (esquery's regex literals take no '/', hence \x2F.)
const DIST_DOORS = {
  'no-restricted-syntax': [
    'error',
    {
      selector: 'Literal[value=/^(.*\\x2F)?src\\x2Fmodules\\x2F[^\\x2F]+\\x2F(?!index\\.js$).*\\.js$/]',
      message: 'Require a built module through its door, dist/src/modules/<m>/index.js.',
    },
    {
      selector: 'Literal[value=/^(.*\\x2F)?libs\\x2F[^\\x2F]+\\x2Fsrc\\x2F(?!index\\.js$).*\\.js$/]',
      message: 'Require a built library through its door, dist/libs/<lib>/src/index.js.',
    },
  ],
};

// A leading _ marks what is unused on purpose (a parameter a signature needs, a field left out of `...rest`); a
// caught error need not be read.
const UNUSED = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true };

// Every eslint-disable comment names its rules and says why after ` -- ` (ESLint's description syntax).
const localRules = {
  rules: {
    'disable-names-rule-and-reason': {
      meta: { type: 'suggestion', schema: [], messages: { bare: 'An eslint-disable comment names its rule(s) and gives the reason after " -- ".' } },
      create(context) {
        return {
          Program() {
            for (const comment of context.sourceCode.getAllComments()) {
              const m = /^\s*eslint-disable(-next-line|-line)?(\s+(.*))?$/s.exec(comment.value);
              if (!m) continue;
              const [rules, reason] = (m[3] ?? '').split(/\s--\s/);
              if (!rules?.trim() || !reason?.trim()) context.report({ loc: comment.loc, messageId: 'bare' });
            }
          },
        };
      },
    },
  },
};

export default defineConfig(
  // .ci/.venv: the linters' virtualenv that .ci/run creates (git ignores it; ESLint does not read .gitignore).
  globalIgnores(['dist/', '.ci/.venv/', 'coverage/', 'data/', '.tmp/', '.bench-ab/', 'docs/', 'deploy/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error', reportUnusedInlineConfigs: 'error' },
    plugins: { kiroku: localRules },
    rules: { 'kiroku/disable-names-rule-and-reason': 'error' },
  },
  js.configs.recommended,
  {
    files: TS,
    // Type-aware: ~40 s for the whole tree on one core (ESLint runs single-threaded), against ~15 s without types.
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', UNUSED],
    },
  },
  {
    // Tests read response bodies (supertest's res.body, JSON.parse) as any by design: the expectations are the check.
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // In-memory fakes (and the stand-ins inside tests) keep the async shape of what they replace without awaiting anything.
    files: ['**/*.fake.ts', 'test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: CJS,
    ignores: BROWSER,
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { 'no-unused-vars': ['error', UNUSED] },
  },
  {
    files: BROWSER,
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module', globals: globals.node } },

  // Doors. Every file outside src/modules and libs:
  { rules: restrict([...EVERYWHERE, ...OUTSIDE_MODULES]) },
  // Jest runs globalSetup with plain require(), without moduleNameMapper: @kiroku/testing cannot resolve there, so
  // global-setup.ts imports the library's door by its relative path.
  {
    files: ['test/support/global-setup.ts'],
    rules: restrict([
      PAST_LIB_DOOR,
      pattern('^\\.\\.?/(\\.\\./)*(.*/)?libs/(?![^/]+/src$)', 'Import a library through its door, libs/<lib>/src, nothing past it.'),
      ...OUTSIDE_MODULES,
    ]),
  },
  // Inside a module, by depth below src/modules/<m>/ (two levels exist today: notes/search, storage/destinations).
  { files: ['src/modules/*/*.{ts,js}'], rules: restrict([...EVERYWHERE, ...insideModule(0)]) },
  { files: ['src/modules/*/*/*.{ts,js}'], rules: restrict([...EVERYWHERE, ...insideModule(1)]) },
  { files: ['src/modules/*/*/*/*.{ts,js}'], rules: restrict([...EVERYWHERE, ...insideModule(2)]) },
  // Inside a library, by depth below libs/<lib>/src/.
  { files: ['libs/*/src/*.ts'], rules: restrict([...EVERYWHERE, ...insideLib(0)]) },
  { files: ['libs/*/src/*/*.ts'], rules: restrict([...EVERYWHERE, ...insideLib(1)]) },
  { files: ['libs/*/src/*/*/*.ts'], rules: restrict([...EVERYWHERE, ...insideLib(2)]) },
  // Paths into dist/ in the CommonJS scripts.
  { files: ['bench/**/*.js', 'scripts/**/*.{js,cjs}', 'test/**/*.{js,cjs}', 'bin/**/*.js'], rules: DIST_DOORS },

  prettier,
);
