import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type AppStatus, type StaffSession } from "../bindings";
import { EnrollDialog } from "../components/EnrollDialog";
import { LanguageSelect } from "../components/LanguageSelect";
import { Logo } from "../components/Logo";
import { Notices } from "../components/Notices";
import { describeError, type AppError } from "../errors";
import { useI18n } from "../i18n";
import { markStart } from "../perf";
import { callCommand, useCommand } from "../useCommand";

/** The server and username of the last login that asked to be remembered (never the password). */
export const LAST_LOGIN_KEY = "digimed.lastLogin";

type FieldName = "server" | "username" | "password" | "remember";
const FIELDS: readonly FieldName[] = ["server", "username", "password", "remember"];

function fieldOf(error: AppError | null): FieldName | null {
  const field = error?.field;
  return field && (FIELDS as readonly string[]).includes(field) ? (field as FieldName) : null;
}

function readLastLogin(): { server?: string; username?: string } {
  try {
    const raw = localStorage.getItem(LAST_LOGIN_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (typeof parsed === "object" && parsed !== null) {
      const { server, username } = parsed as Record<string, unknown>;
      return {
        server: typeof server === "string" ? server : undefined,
        username: typeof username === "string" ? username : undefined,
      };
    }
  } catch {
    // Unreadable storage: start with empty fields.
  }
  return {};
}

function writeLastLogin(value: { server: string; username: string } | null) {
  try {
    if (value) localStorage.setItem(LAST_LOGIN_KEY, JSON.stringify(value));
    else localStorage.removeItem(LAST_LOGIN_KEY);
  } catch {
    // Not remembering the username is harmless.
  }
}

export function SignIn(props: { status: AppStatus; onSignedIn: (session: StaffSession) => void }) {
  const { t } = useI18n();
  const { status } = props;
  const [last] = useState(readLastLogin);
  const [server, setServer] = useState(() => last.server ?? status.default_server ?? "");
  const [username, setUsername] = useState(() => last.username ?? "");
  const [password, setPassword] = useState("");
  const [remember, setRemember] = useState(false);
  const [saved, setSaved] = useState(false);
  const [keyringProblem, setKeyringProblem] = useState<string | null>(null);
  const { busy, error, setError, run } = useCommand();
  const [savedCheck, setSavedCheck] = useState(0);
  // A console that holds no data keys offers to enroll this workstation.
  const [enrolled, setEnrolled] = useState(true);
  const [enrolling, setEnrolling] = useState(false);

  useEffect(() => markStart("signin"), []);
  useEffect(() => {
    callCommand(commands.workstationEnrolled(), { ok: setEnrolled, failed: () => setEnrolled(true) });
  }, []);

  const refs = {
    server: useRef<HTMLInputElement>(null),
    username: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    remember: useRef<HTMLInputElement>(null),
  };

  // Is a password saved in the keyring for this server and username? Then "Remember me" starts
  // ticked and an empty Password field means "use the saved one".
  useEffect(() => {
    if (!server.trim() || !username.trim()) {
      setSaved(false);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      callCommand(commands.rememberedPassword(server, username), {
        ok: (isSaved) => {
          if (!current) return;
          setSaved(isSaved);
          setKeyringProblem(null);
          if (isSaved) setRemember(true);
        },
        failed: (e) => {
          if (current) keyringUnavailable(e.message);
        },
      });
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [server, username, savedCheck]);

  function keyringUnavailable(detail: string) {
    setSaved(false);
    setRemember(false);
    setKeyringProblem(detail);
  }

  const errorField = fieldOf(error);

  function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    run(commands.signIn(server, username, password, remember), {
      ok: (session) => {
        markStart("signed-in");
        writeLastLogin(remember ? { server: server.trim(), username: username.trim() } : null);
        props.onSignedIn(session);
      },
      failed: (failure) => {
        markStart("signed-in");
        setPassword("");
        setSavedCheck((n) => n + 1);
        const field = fieldOf(failure);
        (field ? refs[field] : refs.password).current?.focus();
      },
    });
  }

  const describedBy = (field: FieldName, ...extra: string[]) =>
    [...extra, errorField === field ? `signin-${field}-error` : ""].filter(Boolean).join(" ") || undefined;

  const fieldError = (field: FieldName) =>
    errorField === field && error ? (
      <p id={`signin-${field}-error`} class="field-error">
        {describeError(error, t)}
      </p>
    ) : null;

  return (
    <div class="signin-page">
      <header class="signin-aside">
        <div class="signin-brand">
          <Logo size={56} />
          <h1 class="product-name">{t("app.name")}</h1>
          <p class="product-tagline">{t("app.tagline")}</p>
        </div>
        <Notices status={status} />
        <p class="signin-footer">{t("app.version", { version: status.version })}</p>
      </header>
      <div class="signin-content">
        <div class="signin-topbar">
          <LanguageSelect id="signin-language" />
        </div>
        <main class="signin-main">
        <section class="card signin-card" aria-labelledby="signin-title">
          <h2 id="signin-title">{t("signIn.title")}</h2>
          <p class="muted">{t("signIn.subtitle")}</p>

          {error && !errorField && (
            <div class="alert alert-error" role="alert">
              <strong>{t("signIn.errorTitle")}</strong>
              <span>{describeError(error, t)}</span>
              {error.retryable && <span class="muted">{t("error.retryHint")}</span>}
            </div>
          )}

          <form class="form" onSubmit={submit} noValidate aria-busy={busy}>
            <div class={errorField === "server" ? "field has-error" : "field"}>
              <label for="signin-server">{t("signIn.server")}</label>
              <input
                ref={refs.server}
                id="signin-server"
                name="server"
                type="text"
                inputMode="url"
                autoComplete="off"
                spellcheck={false}
                value={server}
                aria-invalid={errorField === "server"}
                aria-describedby={describedBy("server", "signin-server-hint")}
                onInput={(e) => setServer(e.currentTarget.value)}
              />
              <p id="signin-server-hint" class="hint">
                {t("signIn.serverHint")}
              </p>
              {fieldError("server")}
            </div>

            <div class={errorField === "username" ? "field has-error" : "field"}>
              <label for="signin-username">{t("signIn.username")}</label>
              <input
                ref={refs.username}
                id="signin-username"
                name="username"
                type="text"
                autoComplete="username"
                autoCapitalize="off"
                spellcheck={false}
                value={username}
                aria-invalid={errorField === "username"}
                aria-describedby={describedBy("username")}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
              {fieldError("username")}
            </div>

            <div class={errorField === "password" ? "field has-error" : "field"}>
              <label for="signin-password">{t("signIn.password")}</label>
              <input
                ref={refs.password}
                id="signin-password"
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                placeholder={saved ? t("signIn.passwordSaved") : undefined}
                aria-invalid={errorField === "password"}
                aria-describedby={describedBy("password", saved ? "signin-password-saved" : "")}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
              {saved && (
                <p id="signin-password-saved" class="hint">
                  {t("signIn.passwordSavedHint")}
                </p>
              )}
              {fieldError("password")}
            </div>

            <div class={errorField === "remember" ? "field field-check has-error" : "field field-check"}>
              <input
                ref={refs.remember}
                id="signin-remember"
                name="remember"
                type="checkbox"
                checked={remember}
                disabled={keyringProblem !== null}
                aria-invalid={errorField === "remember"}
                aria-describedby={describedBy("remember", "signin-remember-hint")}
                onChange={(e) => setRemember(e.currentTarget.checked)}
              />
              <div>
                <label for="signin-remember">{t("signIn.remember")}</label>
                <p id="signin-remember-hint" class="hint" title={keyringProblem ?? undefined}>
                  {keyringProblem ? t("signIn.keyringUnavailable") : t("signIn.rememberHint")}
                </p>
                {fieldError("remember")}
              </div>
            </div>

            <button
              type="submit"
              class="button button-primary button-block"
              aria-disabled={busy}
              data-busy={busy ? "" : undefined}
            >
              {busy && <span class="spinner" aria-hidden="true" />}
              {busy ? t("signIn.submitting") : t("signIn.submit")}
            </button>
          </form>
          {!enrolled && (
            <div class="enroll-offer">
              <p class="muted">{t("enroll.offer")}</p>
              <button type="button" class="button button-block" onClick={() => setEnrolling(true)}>
                {t("enroll.button")}
              </button>
            </div>
          )}
        </section>
        </main>
        {enrolling && (
          <EnrollDialog
            onClose={() => setEnrolling(false)}
            onEnrolled={(session) => {
              setEnrolling(false);
              setEnrolled(true);
              props.onSignedIn(session);
            }}
          />
        )}
      </div>
    </div>
  );
}
