import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { commands, type HistoryEntry } from "../bindings";
import type { AppError } from "../errors";
import { useI18n } from "../i18n";
import { formatDate, formatDateTime } from "../i18n/format";
import { useLatestRead } from "../useCommand";
import { StateBadge } from "./Badges";
import { ResultRow, ResultToggle } from "./ResultView";
import { ErrorAlert } from "./ErrorAlert";

/**
 * A patient's consultations at the clinic, newest first: state, dates and doctor. A result the
 * reader may read (the database says whether, without reading it) can be unfolded in place, and
 * `onOpen` opens a consultation. `current` is the one on screen; `reload` reads the list again
 * when it changes.
 */
export function ConsultationHistory(props: {
  patientPersonId: number;
  current?: number;
  onOpen?: (id: number) => void;
  reload?: number;
}) {
  const { t, locale } = useI18n();
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [shown, setShown] = useState<number | null>(null);
  const read = useLatestRead();

  useEffect(() => {
    read(commands.consultationHistory(props.patientPersonId), {
      ok: (list) => {
        setError(null);
        setEntries(list);
      },
      failed: setError,
    });
  }, [read, props.patientPersonId, props.reload]);

  const date = (v: string | null) => (v ? formatDateTime(v, locale) : t("common.none"));
  return (
    <section class="consultation-history" aria-labelledby="history-title">
      <h2 id="history-title">{t("history.title")}</h2>
      <ErrorAlert error={error} />
      {!error && entries === null && <p class="muted">{t("common.loading")}</p>}
      {entries !== null && entries.length === 0 && <p class="muted">{t("history.none")}</p>}
      {entries !== null && entries.length > 0 && (
        <table class="data-table history-table" aria-labelledby="history-title">
          <thead>
            <tr>
              <th scope="col">{t("history.booked")}</th>
              <th scope="col">{t("queue.colState")}</th>
              <th scope="col">{t("history.started")}</th>
              <th scope="col">{t("history.ended")}</th>
              <th scope="col">{t("history.doctor")}</th>
              <th scope="col">
                <span class="sr-only">{t("history.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map(({ consultation: c, result_readable }) => (
              <Fragment key={c.id}>
                <tr data-consultation={c.id} class={c.id === props.current ? "is-current" : undefined}>
                  <td>
                    {formatDate(c.created_at, locale)}
                    {c.follow_up_of !== null && <span class="muted"> · {t("history.followUp")}</span>}
                  </td>
                  <td>
                    <StateBadge state={c.state} />
                  </td>
                  <td>{date(c.starts_at)}</td>
                  <td>{date(c.ends_at ?? c.cancelled_at)}</td>
                  <td>{c.doctor_name ?? t("common.none")}</td>
                  <td class="row-actions">
                    {c.id === props.current ? (
                      <span class="muted">{t("history.thisOne")}</span>
                    ) : (
                      <div>
                        {result_readable && (
                          <ResultToggle consultationId={c.id} shown={shown} onToggle={setShown} buttonClass="button button-secondary" />
                        )}
                        {props.onOpen && (
                          <button type="button" class="button button-secondary" onClick={() => props.onOpen?.(c.id)}>
                            {t("doctor.open")}
                          </button>
                        )}
                      </div>
                    )}
                  </td>
                </tr>
                {shown === c.id && <ResultRow consultationId={c.id} colSpan={6} />}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
