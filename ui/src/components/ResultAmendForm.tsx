import { useState } from "preact/hooks";
import { commands, type ResultVersion } from "../bindings";
import { useI18n } from "../i18n";
import { useCommand } from "../useCommand";
import { FieldError } from "./FieldError";
import { RESULT_FIELDS, ResultFields, type ResultValues } from "./ResultFields";
import { ErrorAlert } from "./ErrorAlert";

const FIELDS: readonly string[] = [...RESULT_FIELDS, "reason"];

/**
 * The author's amendment of a filed result: every field prefilled from the latest version, and a
 * required reason. Saving adds a version; the earlier ones are kept. `onAmended` gets the new
 * version's number once the amendment is saved.
 */
export function ResultAmendForm(props: {
  consultationId: number;
  latest: ResultVersion;
  onAmended: (version: number) => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const l = props.latest;
  const [values, setValues] = useState<ResultValues>({
    icpc2: l.icpc2.code,
    outcome: l.outcome,
    notes: l.notes ?? "",
    policy: l.policy_number ?? "",
    job: l.patient_job_description ?? "",
    ssn: l.patient_ssn ?? "",
  });
  const [reason, setReason] = useState("");
  const { busy, error, setError, run, fieldError, generalError } = useCommand();
  const general = generalError(FIELDS);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const missing = !reason.trim() ? "reason" : !values.icpc2 ? "icpc2" : !values.outcome ? "outcome" : null;
    if (missing) {
      const message = missing === "reason" ? t("amend.reasonRequired") : t("result.required");
      setError({ code: "invalid_input", field: missing, message });
      document.getElementById(`amend-${missing}`)?.focus();
      return;
    }
    // Every field is sent as it stands (an emptied one is cleared), so nothing is taken over unseen.
    const amendment = {
      reason,
      icpc2: values.icpc2,
      outcome: values.outcome,
      notes: values.notes,
      policy_number: values.policy,
      patient_job_description: values.job,
      patient_ssn: values.ssn,
    };
    run(commands.resultAmend(props.consultationId, amendment), {
      ok: props.onAmended,
      failed: (e) => {
        if (e.field) document.getElementById(`amend-${e.field}`)?.focus();
      },
    });
  }

  return (
    <form class="form amend-form" onSubmit={submit} noValidate aria-labelledby="amend-title">
      <h3 id="amend-title">{t("amend.title", { version: l.version + 1 })}</h3>
      <p class="hint">{t("amend.intro")}</p>
      <div class={`field${fieldError("reason") ? " has-error" : ""}`}>
        <label for="amend-reason">{t("amend.reason")}</label>
        <textarea
          id="amend-reason"
          rows={2}
          maxLength={500}
          value={reason}
          aria-invalid={!!fieldError("reason")}
          aria-describedby={["amend-reason-hint", fieldError("reason") ? "amend-reason-error" : null].filter(Boolean).join(" ")}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <p id="amend-reason-hint" class="hint">
          {t("amend.reasonHint")}
        </p>
        <FieldError id="amend-reason-error" message={fieldError("reason")} />
      </div>
      <ResultFields
        prefix="amend"
        values={values}
        onChange={(patch) => setValues((v) => ({ ...v, ...patch }))}
        error={error}
        setError={setError}
        onOutcomesFailed={setError}
        icpc2Label={`${l.icpc2.code} ${l.icpc2.title}`}
      />
      <ErrorAlert error={general} />
      <div class="button-row">
        <button type="submit" class="button button-primary" aria-disabled={busy}>
          {busy ? t("amend.saving") : t("amend.save")}
        </button>
        <button type="button" class="button button-secondary" onClick={props.onCancel}>
          {t("amend.cancel")}
        </button>
      </div>
    </form>
  );
}
