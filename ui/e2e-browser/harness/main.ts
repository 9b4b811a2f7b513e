// The browser tests' entry: the console's own entry, with Tauri's IPC answered in the page.
import "./install";
import "../../src/main";
