import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type Form, type FormText } from "../bindings";
import type { AppError } from "../errors";
import { formatDateTime } from "../i18n/format";
import { useI18n, type MessageKey } from "../i18n";
import { callCommand, useCommand, useLatestRead } from "../useCommand";
import { Dialog } from "./Dialog";
import { FieldError } from "./FieldError";
import { ErrorAlert } from "./ErrorAlert";

type Action =
  | { kind: "sign"; form: Form; text: FormText | null }
  | { kind: "decline"; form: Form }
  | { kind: "withdraw"; consentId: number; consentType: string };

/**
 * A patient's consent forms with what staff may record: a paper signature (the text is shown
 * first, and the signature is tied to that text's hash), a refusal, and a consent withdrawn.
 */
export function PatientForms(props: { patientId: number; name?: string; onChanged?: () => void }) {
  const { t, locale } = useI18n();
  const [forms, setForms] = useState<Form[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState<MessageKey | null>(null);

  const read = useLatestRead();
  const load = useCallback(() => {
    read(commands.patientForms(props.patientId), {
      ok: (list) => {
        setForms(list);
        setError(null);
      },
      failed: setError,
    });
  }, [read, props.patientId]);

  useEffect(() => {
    setForms(null);
    setNotice(null);
    load();
  }, [load]);

  function openSign(form: Form) {
    setAction({ kind: "sign", form, text: null });
    callCommand(commands.formText(form.form_id), {
      ok: (text) => setAction({ kind: "sign", form, text }),
      failed: setError,
    });
  }

  function done(message: MessageKey) {
    setAction(null);
    setNotice(message);
    load();
    props.onChanged?.();
  }

  const statusLabel = (s: string) => t(`forms.status.${s}` as "forms.status.pending");

  return (
    <div class="patient-forms">
      <ErrorAlert error={error} />
      {notice && (
        <p class="alert alert-success" role="status">
          {t(notice)}
        </p>
      )}
      {forms === null && !error && <p class="muted">{t("common.loading")}</p>}
      {forms !== null && forms.length === 0 && <p class="muted">{t("forms.none")}</p>}
      {forms !== null && forms.length > 0 && (
        <ul class="form-list" aria-label={t("forms.listLabel", { name: props.name ?? "" })}>
          {forms.map((f) => (
            <li key={f.form_id} class={`form-item form-${f.status}`}>
              <div class="form-item-head">
                <span class="form-title">{f.title}</span>
                <span class={`badge badge-form-${f.status}`}>{statusLabel(f.status)}</span>
              </div>
              <p class="hint">
                {t("forms.version", { version: f.template_version })}
                {f.blocking && f.must_sign_before === "first_appointment" ? ` · ${t("forms.beforeFirst")}` : ""}
                {f.consent_types.length > 0 ? ` · ${t("forms.grants")}: ${f.consent_types.map((c) => t(`consent.${c}` as "consent.analytics") || c).join(", ")}` : ""}
              </p>
              {f.status === "signed" && f.signed_at && (
                <p class="hint">
                  {t(f.signed_by === "staff_attested" ? "forms.signedOnPaper" : "forms.signedInApp", {
                    when: formatDateTime(f.signed_at, locale),
                  })}
                </p>
              )}
              {f.status === "pending" && (
                <div class="form-actions">
                  <button type="button" class="button button-primary" onClick={() => openSign(f)}>
                    {t("forms.recordPaper")}
                  </button>
                  <button type="button" class="button button-secondary" onClick={() => setAction({ kind: "decline", form: f })}>
                    {t("forms.declined")}
                  </button>
                </div>
              )}
              {f.consents.length > 0 && (
                <ul class="consent-list">
                  {f.consents.map((c) => (
                    <li key={c.id}>
                      <span>{t(`consent.${c.consent_type}` as "consent.analytics") || c.consent_type}</span>{" "}
                      {c.withdrawn_at ? (
                        <span class="muted">
                          {t("consent.withdrawnAt", { when: formatDateTime(c.withdrawn_at, locale) })}
                          {c.withdraw_reason ? ` — ${c.withdraw_reason}` : ""}
                        </span>
                      ) : (
                        <>
                          <span class="muted">{t("consent.grantedAt", { when: formatDateTime(c.granted_at, locale) })}</span>{" "}
                          <button
                            type="button"
                            class="button button-link"
                            onClick={() => setAction({ kind: "withdraw", consentId: c.id, consentType: c.consent_type })}
                          >
                            {t("consent.withdraw")}
                          </button>
                        </>
                      )}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
      {action?.kind === "sign" && (
        <SignDialog form={action.form} text={action.text} onClose={() => setAction(null)} onDone={() => done("forms.signedNotice")} />
      )}
      {action?.kind === "decline" && (
        <DeclineDialog form={action.form} onClose={() => setAction(null)} onDone={() => done("forms.declinedNotice")} />
      )}
      {action?.kind === "withdraw" && (
        <WithdrawDialog
          consentId={action.consentId}
          consentType={action.consentType}
          onClose={() => setAction(null)}
          onDone={() => done("consent.withdrawnNotice")}
        />
      )}
    </div>
  );
}

function SignDialog(props: { form: Form; text: FormText | null; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const [confirmed, setConfirmed] = useState(false);
  const { busy, error, setError, run } = useCommand();
  function submit(e: Event) {
    e.preventDefault();
    if (!props.text || busy) return;
    if (!confirmed) {
      setError({ code: "invalid_input", field: "confirm", message: t("forms.confirmRequired") });
      return;
    }
    run(commands.formAttestSignature(props.form.form_id, props.text.template_sha256), { ok: props.onDone });
  }
  return (
    <Dialog id="sign-dialog" title={t("forms.recordPaperTitle", { title: props.form.title })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        {props.text === null ? (
          <p class="muted">{t("common.loading")}</p>
        ) : (
          <div class="form-text" tabIndex={0} aria-label={t("forms.textLabel")}>
            {props.text.body}
          </div>
        )}
        <div class={`field-check${error?.field === "confirm" ? " has-error" : ""}`}>
          <input
            id="sign-confirm"
            type="checkbox"
            checked={confirmed}
            onChange={(e) => setConfirmed((e.target as HTMLInputElement).checked)}
            aria-describedby={error?.field === "confirm" ? "sign-confirm-error" : undefined}
          />
          <label for="sign-confirm">{t("forms.confirmPaper")}</label>
        </div>
        <FieldError id="sign-confirm-error" message={error?.field === "confirm" ? error.message : null} />
        {error?.field !== "confirm" && <ErrorAlert error={error} />}
        <div class="button-row">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" class="button button-primary" aria-disabled={busy || props.text === null}>
            {t("forms.recordSignature")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeclineDialog(props: { form: Form; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const { busy, error, run } = useCommand();
  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    run(commands.formDecline(props.form.form_id), { ok: props.onDone });
  }
  return (
    <Dialog id="decline-dialog" title={t("forms.declineTitle", { title: props.form.title })} onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <p>{t("forms.declineExplain")}</p>
        <ErrorAlert error={error} />
        <div class="button-row">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" class="button button-primary">
            {t("forms.recordDecline")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function WithdrawDialog(props: { consentId: number; consentType: string; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState("");
  const { busy, error, setError, run, fieldError } = useCommand();
  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!reason.trim()) {
      setError({ code: "invalid_input", field: "reason", message: t("consent.reasonRequired") });
      return;
    }
    run(commands.consentWithdraw(props.consentId, reason), { ok: props.onDone });
  }
  const fieldMessage = fieldError("reason");
  return (
    <Dialog
      id="withdraw-dialog"
      title={t("consent.withdrawTitle", { type: t(`consent.${props.consentType}` as "consent.analytics") || props.consentType })}
      onClose={props.onClose}
    >
      <form class="form" onSubmit={submit} noValidate>
        <div class={`field${fieldMessage ? " has-error" : ""}`}>
          <label for="withdraw-reason">{t("consent.reason")}</label>
          <textarea
            id="withdraw-reason"
            rows={3}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
            aria-invalid={!!fieldMessage}
            aria-describedby={fieldMessage ? "withdraw-reason-error" : undefined}
          />
          <FieldError id="withdraw-reason-error" message={fieldMessage} />
        </div>
        {!fieldMessage && <ErrorAlert error={error} />}
        <div class="button-row">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" class="button button-primary">
            {t("consent.withdraw")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
