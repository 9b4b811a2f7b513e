import type { AppStatus } from "../bindings";
import { useI18n } from "../i18n";

/** What a person must know about this installation before trusting what they see. */
export function Notices(props: { status: AppStatus; compact?: boolean }) {
  const { t } = useI18n();
  const { status, compact } = props;
  if (!status.demo && status.clerk === "configured") return null;
  return (
    <div class={compact ? "notices notices-compact" : "notices"}>
      {status.demo && (
        <div class="notice notice-demo" role="note">
          <strong>{t("notice.demo")}</strong>
          {!compact && <span>{t("notice.demoDetail")}</span>}
        </div>
      )}
      {status.clerk === "local_directory" && (
        <div class="notice notice-info" role="note">
          <strong>{t("notice.clerkLocal")}</strong>
          {!compact && <span>{t("notice.clerkLocalDetail")}</span>}
        </div>
      )}
    </div>
  );
}
