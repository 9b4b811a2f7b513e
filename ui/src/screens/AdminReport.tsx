import { useEffect, useState } from "preact/hooks";
import { commands, events, type PartnerOption, type ReportFormat, type ReportSummary } from "../bindings";
import { FieldError } from "../components/FieldError";
import { logError } from "../errors";
import { formatDate, formatDuration, formatMoney } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";
import { PeriodFields, usePeriod } from "../components/PeriodFields";

/** The insurer report of a partner and period, with a progress bar while it is written. */
export function ReportExport() {
  const { t, locale } = useI18n();
  const [partners, setPartners] = useState<PartnerOption[]>([]);
  const [partner, setPartner] = useState("");
  const period = usePeriod();
  const [format, setFormat] = useState<ReportFormat>("xlsx");
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const { busy, setError, run, fieldError, generalError } = useCommand();
  const [summary, setSummary] = useState<ReportSummary | null>(null);

  useEffect(() => {
    callCommand(commands.partners(), {
      ok: (list) => {
        setPartners(list);
        const first = list[0];
        if (first) setPartner((p) => p || first.name);
      },
      failed: setError,
    });
    let stop: (() => void) | undefined;
    let active = true;
    events.reportProgress
      .listen((e) => setProgress(e.payload))
      .then(
        (unlisten) => (active ? (stop = unlisten) : unlisten()),
        // Without progress events an export still runs and says when it is done; only the bar stands still.
        (e: unknown) => logError("the report's progress cannot be followed", e),
      );
    return () => {
      active = false;
      stop?.();
    };
  }, [setError]);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setSummary(null);
    setError(null);
    setProgress(null);
    run(commands.reportExport(partner, period.from, period.to, format), {
      ok: setSummary,
      failed: (err) => {
        if (err.field) document.getElementById(`report-${err.field}`)?.focus();
      },
    });
  }

  const general = generalError(["partner", "from", "to", "out"]);
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  const dur = (s: number | null) => (s === null ? "—" : formatDuration(s, locale));

  return (
    <form class="card form" onSubmit={submit} noValidate aria-labelledby="report-title">
      <h2 id="report-title">{t("report.title")}</h2>
      <p class="hint">{t("report.hint")}</p>
      <div class={`field${fieldError("partner") ? " has-error" : ""}`}>
        <label for="report-partner">{t("report.partner")}</label>
        <select id="report-partner" value={partner} onChange={(e) => setPartner((e.target as HTMLSelectElement).value)}>
          {partners.map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
        <FieldError id="report-partner-error" message={fieldError("partner")} />
      </div>
      <div class="field-row">
        <PeriodFields idPrefix="report" labels={{ from: t("report.from"), to: t("report.to") }} period={period} fieldError={fieldError} />
      </div>
      {/* The date fields show the system's format; the period is said here in the console's language. */}
      {isCalendarDate(period.from) && isCalendarDate(period.to) && (
        <p class="hint" id="report-period" role="status">
          {t("report.period", { from: formatDate(period.from, locale, "UTC"), to: formatDate(period.to, locale, "UTC") })}
        </p>
      )}
      <fieldset class="field">
        <legend>{t("report.format")}</legend>
        {(["xlsx", "csv"] as const).map((f) => (
          <label class="radio" key={f}>
            <input type="radio" name="report-format" value={f} checked={format === f} onChange={() => setFormat(f)} />{" "}
            {t(`report.format.${f}` as "report.format.xlsx")}
          </label>
        ))}
      </fieldset>
      {busy && (
        <div class="progress-block">
          {/* Until the first consultation is written the count is unknown: the bar has no value yet. */}
          <label for="report-progress">
            {progress ? t("report.progress", { done: progress.done, total: progress.total }) : t("report.preparing")}
          </label>
          {progress ? <progress id="report-progress" max={100} value={pct} /> : <progress id="report-progress" max={100} />}
        </div>
      )}
      <FieldError id="report-out-error" message={fieldError("out")} />
      <ErrorAlert error={general} />
      {summary && (
        <div class="alert alert-success report-summary" role="status">
          <p>
            <strong>{t("report.saved", { count: summary.consultations })}</strong>
          </p>
          <p class="file-path">{summary.file}</p>
          <dl class="summary-list">
            <dt>{t("report.waitingMedian")}</dt>
            <dd>{dur(summary.waiting_median_seconds)}</dd>
            <dt>{t("report.waitingP90")}</dt>
            <dd>{dur(summary.waiting_p90_seconds)}</dd>
            <dt>{t("report.treatmentMedian")}</dt>
            <dd>{dur(summary.treatment_median_seconds)}</dd>
            <dt>{t("report.breaches")}</dt>
            <dd>{summary.deadline_breaches}</dd>
            {summary.sums.map((s) => [
              <dt key={`dt-sum-${s.currency}`}>{t("report.total")}</dt>,
              <dd key={`dd-sum-${s.currency}`}>{formatMoney(s.total, s.currency, locale)}</dd>,
            ])}
            {summary.by_outcome.map((o) => [
              <dt key={`dt-${o.key}`}>{t(`outcome.${o.key}` as "outcome.helped") || o.label}</dt>,
              <dd key={`dd-${o.key}`}>{o.count}</dd>,
            ])}
          </dl>
        </div>
      )}
      <button type="submit" class="button button-primary" aria-disabled={busy || !partner}>
        {busy ? t("report.exporting") : t("report.export")}
      </button>
    </form>
  );
}


/** A `YYYY-MM-DD` value, as a date field gives when it holds a whole date. */
function isCalendarDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}
