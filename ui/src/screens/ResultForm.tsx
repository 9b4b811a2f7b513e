import { useState } from "preact/hooks";
import { commands, type Consultation } from "../bindings";
import { EMPTY_RESULT, RESULT_FIELDS, ResultFields, resultInput, type ResultValues } from "../components/ResultFields";
import { DraftOffer, useDraft } from "../drafts/useDraft";
import { useI18n } from "../i18n";
import { useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** The result a doctor files when completing a consultation. Errors appear next to their field. */
export function ResultForm(props: { consultationId: number; onCompleted: (c: Consultation) => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState<ResultValues>(EMPTY_RESULT);
  const { busy, error, setError, run, generalError } = useCommand();
  const [filed, setFiled] = useState(false);

  // The half-written result is kept as an encrypted draft until it is filed.
  const draft = useDraft(
    "consultation_result",
    props.consultationId,
    values,
    (d) => setValues({ ...EMPTY_RESULT, ...d }),
    { enabled: !filed },
  );

  const general = generalError(RESULT_FIELDS);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    for (const field of ["icpc2", "outcome"] as const) {
      if (!values[field]) {
        setError({ code: "invalid_input", field, message: t("result.required") });
        document.getElementById(`result-${field}`)?.focus();
        return;
      }
    }
    run(commands.completeWithResult(props.consultationId, resultInput(values)), {
      ok: (c) => {
        setFiled(true);
        props.onCompleted(c);
      },
      failed: (e) => {
        if (e.field) document.getElementById(`result-${e.field}`)?.focus();
      },
    });
  }

  return (
    <form class="form result-form" onSubmit={submit} noValidate aria-labelledby="result-title">
      <h2 id="result-title">{t("doctor.result")}</h2>
      <DraftOffer offer={draft.offer} problem={draft.problem} onRestore={draft.restore} onDiscard={draft.discard} />
      <ResultFields
        prefix="result"
        values={values}
        onChange={(patch) => setValues((v) => ({ ...v, ...patch }))}
        error={error}
        setError={setError}
        onOutcomesFailed={setError}
      />
      <ErrorAlert error={general} />
      <div>
        <button type="submit" class="button button-primary" aria-disabled={busy}>
          {busy ? t("doctor.completing") : t("doctor.complete")}
        </button>
      </div>
    </form>
  );
}
