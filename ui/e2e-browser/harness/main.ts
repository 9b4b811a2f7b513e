// The browser tests' entry: the console's own entry, its IPC sent to the test bridge.
import "./install";
import "../../src/main";
