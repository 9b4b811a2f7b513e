import { describeError, type AppError } from "../errors";
import { useI18n } from "../i18n";

/** A command's failure in words the person can act on, announced to screen readers; nothing when there is none. */
export function ErrorAlert(props: { error: AppError | null | undefined }) {
  const { t } = useI18n();
  if (!props.error) return null;
  return (
    <div class="alert alert-error" role="alert">
      {describeError(props.error, t)}
    </div>
  );
}

/** A live list stopped following changes: say why, so nobody trusts a list that no longer moves. */
export function NotLiveAlert(props: { error: AppError | null }) {
  const { t } = useI18n();
  if (!props.error) return null;
  return (
    <div class="alert alert-error" role="alert">
      {t("common.notLive", { reason: describeError(props.error, t) })}
    </div>
  );
}
