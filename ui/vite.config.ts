/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The console loads its front end from the files embedded in the binary (tauri.conf.json's
// frontendDist points at ui/dist), so there is no dev server in the normal workflow.
export default defineConfig({
  plugins: [preact()],
  clearScreen: false,
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    sourcemap: false,
    // Keep every asset a file: the content security policy allows no inline data for scripts or styles.
    assetsInlineLimit: 0,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
    restoreMocks: true,
  },
});
