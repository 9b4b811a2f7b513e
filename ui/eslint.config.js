// @ts-check
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", ".dist-build/", "e2e-browser/dist/", "src/bindings.ts"] },
  js.configs.recommended,
  // TypeScript: the type-checked rules, with the types the compiler already computes for `tsc`.
  {
    files: ["**/*.{ts,tsx}"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.browser,
    },
    rules: {
      // No promise may drop its rejection: each is awaited, or handled (shown, or logged with a reason).
      // `void` does not count as handling one.
      "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // Preact's hooks follow React's rules of hooks.
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
    },
  },
  // The browser tests' stand-in backend is a test double kept by the browser-test suite: linted
  // without type information, since it deliberately throws the core's plain typed error objects.
  {
    files: ["e2e-browser/**/*.ts"],
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      // Its checks of names and texts refuse control characters, as the core does.
      "no-control-regex": "off",
    },
  },
  // Plain JavaScript (this file, the browser tests): no type information, Node's globals.
  {
    files: ["**/*.{js,mjs}"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
