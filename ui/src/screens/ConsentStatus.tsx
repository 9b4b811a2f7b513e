import type { Ref } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type ConsentStatus as Status, type PatientWaiting, type TimelineEntry } from "../bindings";
import { PatientCardButton } from "../components/PatientCardButton";
import { PatientForms } from "../components/PatientForms";
import type { AppError } from "../errors";
import { formatDate, formatDateTime, formatDuration } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand, useLatestRead } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";
import { TableNotice } from "../components/TableNotice";

/** Patients whose blocking forms are unsigned, form counts, and one patient's forms and history. */
export function ConsentStatus(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t, locale } = useI18n();
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [selected, setSelected] = useState<PatientWaiting | null>(null);
  const [timeline, setTimeline] = useState<TimelineEntry[] | null>(null);
  const readTimeline = useLatestRead();

  function load() {
    callCommand(commands.consentStatus(), {
      ok: (data) => {
        setStatus(data);
        setError(null);
      },
      failed: setError,
    });
  }

  // A history that cannot be read is shown empty, and the error says why.
  const loadTimeline = useCallback(
    (patientId: number) => {
      readTimeline(commands.consentTimeline(patientId), {
        ok: setTimeline,
        failed: (e) => {
          setTimeline([]);
          setError(e);
        },
      });
    },
    [readTimeline],
  );

  useEffect(() => load(), []);

  const selectedId = selected?.patient_id;
  useEffect(() => {
    setTimeline(null);
    if (selectedId !== undefined) loadTimeline(selectedId);
  }, [selectedId, loadTimeline]);

  const now = status ? new Date(status.generated_at).getTime() : Date.now();
  const age = (since: string) => formatDuration(Math.max(0, (now - new Date(since).getTime()) / 1000), locale);

  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {t("screen.consent")}
      </h1>
      <ErrorAlert error={error} />
      <div class="consent-layout">
        <div class="card table-card">
          <h2 id="waiting-title">{t("consentStatus.waitingTitle", { count: status?.patients_waiting.length ?? 0 })}</h2>
          <table class="data-table" aria-labelledby="waiting-title">
            <thead>
              <tr>
                <th scope="col">{t("consentStatus.colPatient")}</th>
                <th scope="col">{t("consentStatus.colForms")}</th>
                <th scope="col">{t("consentStatus.colOldest")}</th>
                <th scope="col">{t("consentStatus.colNextBooking")}</th>
              </tr>
            </thead>
            <tbody>
              <TableNotice colSpan={4} loading={status === null && !error} empty={status !== null && status.patients_waiting.length === 0} emptyText={t("consentStatus.noneWaiting")} />
              {status?.patients_waiting.map((p) => (
                <tr key={p.patient_id} aria-selected={selected?.patient_id === p.patient_id}>
                  <td>
                    <button type="button" class="button-link row-link" onClick={() => setSelected(p)}>
                      {p.name}
                    </button>
                  </td>
                  <td>{p.pending_forms.map((f) => f.title).join(", ")}</td>
                  <td>{age(p.oldest_pending_since)}</td>
                  <td>
                    {p.next_booking
                      ? t("consentStatus.booking", {
                          state: t(`state.${p.next_booking.state}` as "state.ready_for_pickup"),
                          since: formatDate(p.next_booking.created_at, locale),
                        })
                      : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2 id="counts-title">{t("consentStatus.countsTitle")}</h2>
          <table class="data-table" aria-labelledby="counts-title">
            <thead>
              <tr>
                <th scope="col">{t("consentStatus.colForm")}</th>
                <th scope="col">{t("forms.status.pending")}</th>
                <th scope="col">{t("forms.status.signed")}</th>
                <th scope="col">{t("forms.status.declined")}</th>
                <th scope="col">{t("forms.status.superseded")}</th>
              </tr>
            </thead>
            <tbody>
              {status?.by_form.map((f) => (
                <tr key={f.template_id}>
                  <td>{f.title}</td>
                  <td>{f.pending}</td>
                  <td>{f.signed}</td>
                  <td>{f.declined}</td>
                  <td>{f.superseded}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {selected && (
          <aside class="card side-panel" aria-labelledby="consent-panel-title">
            <div class="side-panel-head">
              <h2 id="consent-panel-title">{selected.name}</h2>
              <button type="button" class="button button-secondary" onClick={() => setSelected(null)}>
                {t("common.close")}
              </button>
            </div>
            <div>
              <PatientCardButton personId={selected.patient_person_id} name={selected.name} id="consent-patient-card" />
            </div>
            <PatientForms patientId={selected.patient_id} name={selected.name} onChanged={() => {
              load();
              loadTimeline(selected.patient_id);
            }} />
            <h3>{t("consentStatus.timeline")}</h3>
            {timeline === null ? (
              <p class="muted">{t("common.loading")}</p>
            ) : (
              <ol class="timeline">
                {timeline.map((e, i) => (
                  <li key={i}>
                    <time dateTime={e.at}>{formatDateTime(e.at, locale)}</time>{" "}
                    <span>{t(`timeline.${e.event}` as "timeline.form_created", {
                        title: e.title,
                        type: e.consent_type ? t(`consent.${e.consent_type}` as "consent.analytics") || e.consent_type : "",
                      })}</span>
                    {e.detail && e.event === "consent_withdrawn" ? <span class="muted"> — {e.detail}</span> : null}
                  </li>
                ))}
              </ol>
            )}
          </aside>
        )}
      </div>
    </section>
  );
}
