import type { ScreeningEntry } from "../bindings";
import { useI18n } from "../i18n";
import { formatDateTime } from "../i18n/format";

/** A referral's call log, oldest first: when, who, how the call went, and the note. */
export function CallLog(props: { entries: readonly ScreeningEntry[]; id?: string }) {
  const { t, locale } = useI18n();
  if (props.entries.length === 0) {
    return (
      <p class="muted" id={props.id}>
        {t("queue.noHistory")}
      </p>
    );
  }
  return (
    <ul class="history" id={props.id}>
      {props.entries.map((h) => (
        <li key={h.id}>
          <span class="muted">
            {formatDateTime(h.created_at, locale)}
            {h.staff_name ? ` · ${h.staff_name}` : ""}
          </span>{" "}
          {h.call_outcome && <strong>{t(`call.${h.call_outcome}`)}</strong>}
          {h.note && <span class="history-note">{h.note}</span>}
        </li>
      ))}
    </ul>
  );
}
