import { useEffect, useState } from "preact/hooks";
import { commands, type AppStatus, type StaffSession } from "./bindings";
import { logError, toAppError } from "./errors";
import { useI18n } from "./i18n";
import { markStart } from "./perf";
import { Shell } from "./screens/Shell";
import { SignIn } from "./screens/SignIn";

export function App() {
  const { t } = useI18n();
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [startupError, setStartupError] = useState<string | null>(null);
  const [session, setSession] = useState<StaffSession | null>(null);

  useEffect(() => {
    let current = true;
    commands.appStatus().then(
      (value) => {
        markStart("status");
        if (current) setStatus(value);
      },
      (e: unknown) => {
        if (current) setStartupError(toAppError(e).message);
      },
    );
    return () => {
      current = false;
    };
  }, []);

  if (startupError) {
    return (
      <div class="splash">
        <div class="alert alert-error" role="alert">
          <strong>{t("app.startFailed")}</strong>
          <span>{startupError}</span>
        </div>
      </div>
    );
  }

  if (!status) {
    return (
      <div class="splash" role="status">
        {t("app.loading")}
      </div>
    );
  }

  if (!session) return <SignIn status={status} onSignedIn={setSession} />;

  return (
    <Shell
      status={status}
      session={session}
      onSignOut={async () => {
        try {
          const r = await commands.signOut();
          // The sign-in screen follows either way, and has no place for this; so it is logged.
          if (r.status === "error") logError("signing out failed", r.error);
        } finally {
          setSession(null);
        }
      }}
    />
  );
}
