// The console's IPC in the browser tests: every command goes to the test bridge
// (src-tauri/examples/console_bridge.rs), which runs the console's own commands on the real core
// and database and serves this page. Events the commands emit come back as server-sent events and
// reach the listeners the page registered. Nothing here answers a command itself.

import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";

/** A command the page sent, for the tests to look at. */
interface Call {
  cmd: string;
  args: unknown;
  answered: boolean;
}

declare global {
  interface Window {
    __digimed: { calls: Call[] };
  }
}

export function install(): void {
  const calls: Call[] = [];
  window.__digimed = { calls };
  mockWindows("main");
  mockIPC(
    async (cmd, payload) => {
      const call: Call = { cmd, args: JSON.parse(JSON.stringify(payload ?? {})) as unknown, answered: false };
      calls.push(call);
      try {
        const response = await fetch(`/invoke/${encodeURIComponent(cmd)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(payload ?? {}),
        });
        const body = (await response.json()) as unknown;
        // A refused command rejects with its error, as the real IPC does.
        if (!response.ok) throw body;
        return body;
      } finally {
        call.answered = true;
      }
    },
    { shouldMockEvents: true },
  );
  const events = new EventSource("/events");
  events.onmessage = (message: MessageEvent<string>) => {
    const { event, payload } = JSON.parse(message.data) as { event: string; payload: unknown };
    emit(event, payload).catch((e: unknown) => console.error("could not hand an event to the page", e));
  };
}
