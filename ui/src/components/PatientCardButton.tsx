import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { useI18n } from "../i18n";

/**
 * Opens a patient's card (the person id) over the current screen, which stays as it was behind
 * it; the card's Back button returns to it. Given by the signed-in frame (`PatientCardHost`).
 */
export const OpenPatientCard = createContext<((personId: number) => void) | null>(null);

/** The button that opens a patient's card from any screen. Nothing is shown outside the frame. */
export function PatientCardButton(props: { personId: number; name?: string; id?: string; primary?: boolean }) {
  const { t } = useI18n();
  const open = useContext(OpenPatientCard);
  if (!open) return null;
  return (
    <button
      type="button"
      id={props.id}
      class={`button ${props.primary ? "button-primary" : "button-secondary"}`}
      aria-label={props.name ? t("card.openFor", { name: props.name }) : undefined}
      onClick={() => open(props.personId)}
    >
      {t("card.open")}
    </button>
  );
}
