// Types of scripts/layers.cjs, for test/architecture.int-spec.ts.
export declare const LAYERS: readonly (readonly string[])[];
export declare const TEST_LIBS: readonly string[];
export declare const MODULES: readonly string[];
export declare const LIBS: readonly string[];
export declare const TEST_LIB_DIRS: readonly string[];
export declare const LIB_PREFIX: '@kiroku/';
export declare const APP: 'app';
