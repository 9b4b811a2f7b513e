import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Builds the console's UI with the stand-in backend (harness/) into e2e-browser/dist, which the
// browser tests serve on loopback. The console's own build (../vite.config.ts) is untouched.
export default defineConfig({
  root: new URL("./harness", import.meta.url).pathname,
  plugins: [preact()],
  clearScreen: false,
  logLevel: "warn",
  base: "./",
  build: {
    outDir: new URL("./dist", import.meta.url).pathname,
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
  },
});
