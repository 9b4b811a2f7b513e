import type { ConsultationState, DeadlineStatus } from "../bindings";
import { useI18n } from "../i18n";
import { deadlineKey } from "../queue/live";

export function DeadlineBadge(props: { status: DeadlineStatus }) {
  const { t } = useI18n();
  const key = deadlineKey(props.status);
  if (!key) return null;
  return <span class={`badge badge-deadline-${props.status}`}>{t(key)}</span>;
}

export function StateBadge(props: { state: ConsultationState }) {
  const { t } = useI18n();
  return <span class={`badge badge-state badge-state-${props.state}`}>{t(`state.${props.state}`)}</span>;
}
