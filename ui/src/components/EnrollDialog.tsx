import { useState } from "preact/hooks";
import { commands, type BundlePreview, type StaffSession } from "../bindings";
import { describeError, type AppError } from "../errors";
import { useI18n } from "../i18n";
import { useCommand } from "../useCommand";
import { Dialog } from "./Dialog";

type Field = "bundle" | "passphrase" | "username" | "password";

/** The text of a chosen file. */
function readText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : "");
    reader.onerror = () => reject(reader.error ?? new Error("unreadable"));
    reader.readAsText(file);
  });
}

/**
 * Enrolls this workstation: choose the bundle file the administrator made, type the passphrase
 * they read out, see the server and role it is for, then sign in with one's own login. Only when
 * that sign-in works is the enrollment used up and the keys and server saved.
 */
export function EnrollDialog(props: { onClose: () => void; onEnrolled: (session: StaffSession) => void }) {
  const { t } = useI18n();
  const [bundle, setBundle] = useState<string | null>(null);
  const [fileName, setFileName] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [preview, setPreview] = useState<BundlePreview | null>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [readError, setReadError] = useState<AppError | null>(null);
  const { busy, error, setError, run } = useCommand();
  const shown = readError ?? error;
  const errorOf = (f: Field) => (shown && shown.field === f ? describeError(shown, t) : null);
  const general = shown && !["bundle", "passphrase", "username", "password"].includes(shown.field ?? "") ? shown : null;

  function choose(e: Event) {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    setBundle(null);
    setReadError(null);
    setError(null);
    setFileName("");
    if (!file) return;
    readText(file).then(
      (text) => {
        setBundle(text);
        setFileName(file.name);
      },
      () =>
        setReadError({ code: "invalid_input", field: "bundle", message: t("enroll.unreadable") }),
    );
  }

  function open(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (bundle === null) {
      setReadError({ code: "invalid_input", field: "bundle", message: t("enroll.chooseFirst") });
      return;
    }
    setReadError(null);
    run(commands.enrollmentOpen(bundle, passphrase), { ok: setPreview });
  }

  function complete(e: Event) {
    e.preventDefault();
    if (busy) return;
    run(commands.enrollmentComplete(username, password), {
      ok: props.onEnrolled,
      failed: (err) => {
        setPassword("");
        // The bundle itself was refused (used, revoked, unknown): start again with another one.
        if (err.field === "bundle") setPreview(null);
      },
    });
  }

  const fieldError = (f: Field) => {
    const message = errorOf(f);
    return message ? (
      <p id={`enroll-${f}-error`} class="field-error">
        {message}
      </p>
    ) : null;
  };

  return (
    <Dialog id="enroll" title={t("enroll.title")} onClose={props.onClose}>
      {general && (
        <div class="alert alert-error" role="alert">
          {describeError(general, t)}
        </div>
      )}
      {!preview ? (
        <form class="form" onSubmit={open} noValidate aria-busy={busy}>
          <p class="muted">{t("enroll.intro")}</p>
          <div class={errorOf("bundle") ? "field has-error" : "field"}>
            <label for="enroll-bundle">{t("enroll.bundle")}</label>
            <input id="enroll-bundle" type="file" accept=".age,text/plain" onChange={choose}
              aria-invalid={!!errorOf("bundle")} aria-describedby={errorOf("bundle") ? "enroll-bundle-error" : undefined} />
            {fileName && <p class="hint">{fileName}</p>}
            {fieldError("bundle")}
          </div>
          <div class={errorOf("passphrase") ? "field has-error" : "field"}>
            <label for="enroll-passphrase">{t("enroll.passphrase")}</label>
            <input id="enroll-passphrase" type="text" autoComplete="off" autoCapitalize="off" spellcheck={false}
              value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)}
              aria-invalid={!!errorOf("passphrase")}
              aria-describedby={errorOf("passphrase") ? "enroll-passphrase-error enroll-passphrase-hint" : "enroll-passphrase-hint"} />
            <p id="enroll-passphrase-hint" class="hint">{t("enroll.passphraseHint")}</p>
            {fieldError("passphrase")}
          </div>
          <EnrollButtons busy={busy} label={t("enroll.open")} busyLabel={t("enroll.opening")} onCancel={props.onClose} />
        </form>
      ) : (
        <form class="form" onSubmit={complete} noValidate aria-busy={busy}>
          <dl class="enroll-preview">
            <dt>{t("enroll.server")}</dt>
            <dd data-testid="enroll-server">{preview.server}</dd>
            <dt>{t("enroll.role")}</dt>
            <dd>{t(`role.${preview.role}`)}</dd>
            <dt>{t("enroll.label")}</dt>
            <dd>{preview.label}</dd>
          </dl>
          <p class="muted">{t("enroll.signInIntro", { role: t(`role.${preview.role}`) })}</p>
          <div class={errorOf("username") ? "field has-error" : "field"}>
            <label for="enroll-username">{t("signIn.username")}</label>
            <input id="enroll-username" type="text" autoComplete="username" autoCapitalize="off" spellcheck={false}
              value={username} onInput={(e) => setUsername(e.currentTarget.value)}
              aria-invalid={!!errorOf("username")} aria-describedby={errorOf("username") ? "enroll-username-error" : undefined} />
            {fieldError("username")}
          </div>
          <div class={errorOf("password") ? "field has-error" : "field"}>
            <label for="enroll-password">{t("signIn.password")}</label>
            <input id="enroll-password" type="password" autoComplete="current-password"
              value={password} onInput={(e) => setPassword(e.currentTarget.value)}
              aria-invalid={!!errorOf("password")} aria-describedby={errorOf("password") ? "enroll-password-error" : undefined} />
            {fieldError("password")}
          </div>
          <EnrollButtons busy={busy} label={t("enroll.submit")} busyLabel={t("enroll.enrolling")} onCancel={props.onClose} />
        </form>
      )}
    </Dialog>
  );
}

/** Each step's Cancel and submit buttons; while busy the submit button says so and stays focusable. */
function EnrollButtons(props: { busy: boolean; label: string; busyLabel: string; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <div class="form-actions">
      <button type="button" class="button" onClick={props.onCancel}>
        {t("common.cancel")}
      </button>
      <button type="submit" class="button button-primary" aria-disabled={props.busy}>
        {props.busy ? props.busyLabel : props.label}
      </button>
    </div>
  );
}
