import { useEffect, useState } from "preact/hooks";
import { commands, type ResultVersion } from "../bindings";
import { describeError, logError, type AppError } from "../errors";
import { useI18n, type Translate } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { callCommand, useLatestRead } from "../useCommand";
import { OUTCOMES } from "./ResultFields";
import { ResultAmendForm } from "./ResultAmendForm";

const KNOWN: readonly string[] = OUTCOMES;

/** An outcome in the console's language, or as the clinic's admins named it. */
function outcomeLabel(code: string, labels: Record<string, string>, t: Translate): string {
  return KNOWN.includes(code) ? t(`outcome.${code}` as "outcome.helped") : (labels[code] ?? code);
}

/** What one version of a result says. */
function VersionFacts(props: { version: ResultVersion; labels: Record<string, string> }) {
  const { t } = useI18n();
  const v = props.version;
  const none = <span class="muted">{t("common.none")}</span>;
  return (
    <dl class="facts result-facts">
      <dt>{t("result.icpc2")}</dt>
      <dd>
        <span class="code">{v.icpc2.code}</span> {v.icpc2.title}
      </dd>
      <dt>{t("result.outcome")}</dt>
      <dd>{outcomeLabel(v.outcome, props.labels, t)}</dd>
      <dt>{t("result.notes")}</dt>
      <dd class="result-notes">{v.notes ?? none}</dd>
      <dt>{t("result.jobDescription")}</dt>
      <dd>{v.patient_job_description ?? none}</dd>
      <dt>{t("result.policyNumber")}</dt>
      <dd>{v.policy_number ?? none}</dd>
      {v.patient_ssn && (
        <>
          <dt>{t("result.patientSsn")}</dt>
          <dd>{v.patient_ssn}</dd>
        </>
      )}
    </dl>
  );
}

/**
 * A consultation's filed result, as its reader may see it: the latest version, and every version
 * with its author, time and reason (earlier ones can be unfolded). Each showing is a read the
 * database records in the reader's name; those it does not let through are told why. With
 * `amendable` (the author), an "Amend" form adds a version.
 */
export function ResultView(props: { consultationId: number; amendable?: boolean; headingLevel?: 2 | 3 }) {
  const { t, locale } = useI18n();
  const [versions, setVersions] = useState<ResultVersion[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [labels, setLabels] = useState<Record<string, string>>({});
  const [amending, setAmending] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const read = useLatestRead();

  useEffect(() => {
    setError(null);
    read(commands.resultRead(props.consultationId), {
      ok: setVersions,
      failed: (e) => {
        setVersions(null);
        setError(e);
      },
    });
  }, [read, props.consultationId, reads]);

  // Outcomes an admin added are shown by their own label.
  useEffect(() => {
    callCommand(commands.outcomesList(), {
      ok: (list) => setLabels(Object.fromEntries(list.map((o) => [o.code, o.label]))),
      failed: (e) => logError("the outcome labels could not be read", e),
    });
  }, []);

  const Heading = props.headingLevel === 3 ? "h3" : "h2";
  const titleId = `result-view-${props.consultationId}-title`;
  const latest = versions?.[0];
  return (
    <section class="result-view" aria-labelledby={titleId} data-consultation={props.consultationId}>
      <Heading id={titleId}>{t("resultView.title")}</Heading>
      {notice && (
        <p class="alert alert-info" role="status">
          {notice}
        </p>
      )}
      {error &&
        (error.code === "forbidden" ? (
          <p class="alert alert-info result-refused" role="status">
            {t("resultView.forbidden")}
          </p>
        ) : error.code === "clinical_keys_unavailable" ? (
          <p class="alert alert-info result-no-clinical-keys" role="status">
            {t("error.clinical_keys_unavailable")}
          </p>
        ) : (
          <div class="alert alert-error" role="alert">
            {describeError(error, t)}
          </div>
        ))}
      {!error && versions === null && <p class="muted">{t("resultView.reading")}</p>}
      {versions !== null && !latest && <p class="muted">{t("resultView.none")}</p>}
      {latest && (
        <>
          <p class="result-current muted">
            {t("resultView.current", {
              version: latest.version,
              author: latest.author_name ?? t("common.none"),
              when: formatDateTime(latest.created_at, locale),
            })}
          </p>
          <VersionFacts version={latest} labels={labels} />
          <h3 class="result-versions-title">{t("resultView.versions")}</h3>
          <ol class="result-versions">
            {versions.map((v) => {
              const who = v.author_name ?? t("common.none");
              const when = formatDateTime(v.created_at, locale);
              const line = v.amend_reason
                ? t("resultView.amendedBy", { version: v.version, author: who, when })
                : t("resultView.filedBy", { version: v.version, author: who, when });
              return (
                <li key={v.version} class="result-version">
                  <p>
                    <strong>{line}</strong>
                    {v === latest && <span class="badge badge-current">{t("resultView.latest")}</span>}
                  </p>
                  {v.amend_reason && <p class="result-reason">{t("resultView.reason", { reason: v.amend_reason })}</p>}
                  {v !== latest && (
                    <details>
                      <summary>{t("resultView.showVersion", { version: v.version })}</summary>
                      <VersionFacts version={v} labels={labels} />
                    </details>
                  )}
                </li>
              );
            })}
          </ol>
          {props.amendable && !amending && (
            <button
              type="button"
              class="button button-secondary"
              onClick={() => {
                setNotice(null);
                setAmending(true);
              }}
            >
              {t("amend.open")}
            </button>
          )}
          {props.amendable && amending && (
            <ResultAmendForm
              consultationId={props.consultationId}
              latest={latest}
              onCancel={() => setAmending(false)}
              onAmended={(version) => {
                setAmending(false);
                setNotice(t("amend.saved", { version }));
                setReads((n) => n + 1);
              }}
            />
          )}
        </>
      )}
    </section>
  );
}

/**
 * In a list of consultations, the button that unfolds a consultation's result below its row (a
 * read the database records) or folds it again. `shown` is the consultation whose result is open.
 */
export function ResultToggle(props: {
  consultationId: number;
  shown: number | null;
  onToggle: (shown: number | null) => void;
  buttonClass: string;
}) {
  const { t } = useI18n();
  const open = props.shown === props.consultationId;
  return (
    <button
      type="button"
      class={props.buttonClass}
      aria-expanded={open}
      onClick={() => props.onToggle(open ? null : props.consultationId)}
    >
      {open ? t("history.hideResult") : t("history.showResult")}
    </button>
  );
}

/** The row below a consultation's row that shows the result its `ResultToggle` unfolded. */
export function ResultRow(props: { consultationId: number; colSpan: number }) {
  return (
    <tr class="history-result">
      <td colSpan={props.colSpan}>
        <ResultView consultationId={props.consultationId} headingLevel={3} />
      </td>
    </tr>
  );
}
