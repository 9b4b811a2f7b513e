import { useI18n } from "../i18n";

/**
 * A form's submit and Cancel buttons. While busy the submit button says so and stays focusable
 * (`aria-disabled`), so a second press does nothing and keyboard focus is not lost.
 */
export function FormButtons(props: { busy: boolean; label: string; busyLabel: string; onCancel: () => void; danger?: boolean }) {
  const { t } = useI18n();
  return (
    <div class="button-row">
      <button type="submit" class={`button ${props.danger ? "button-danger" : "button-primary"}`} aria-disabled={props.busy}>
        {props.busy ? props.busyLabel : props.label}
      </button>
      <button type="button" class="button button-secondary" onClick={props.onCancel}>
        {t("common.cancel")}
      </button>
    </div>
  );
}
