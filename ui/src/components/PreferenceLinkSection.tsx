import { useState } from "preact/hooks";
import { commands, type AppRole } from "../bindings";
import { useI18n } from "../i18n";
import { useCommand } from "../useCommand";
import { ErrorAlert } from "./ErrorAlert";

/** The roles that issue a patient a new preferences link (the core decides). */
const ROTATORS: readonly AppRole[] = ["customer_support", "admin"];

/**
 * On the patient card: issue the patient a new link to their contact-preferences page, so that
 * the old one stops working (a lost or forwarded message). Asks once more before it does. The new
 * link is not shown; it reaches the patient in the clinic's next messages.
 */
export function PreferenceLinkSection(props: { personId: number; role: AppRole }) {
  const { t } = useI18n();
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState(false);
  const { busy, error, run } = useCommand();
  if (!ROTATORS.includes(props.role)) return null;

  function rotate() {
    if (busy) return;
    run(commands.preferenceTokenRotate(props.personId), {
      ok: () => {
        setConfirming(false);
        setDone(true);
        requestAnimationFrame(() => document.getElementById("card-rotate-preference-link")?.focus());
      },
    });
  }

  return (
    <section class="card card-section" aria-labelledby="card-preference-link-title">
      <h2 id="card-preference-link-title">{t("card.rotatePreferenceLink")}</h2>
      <p class="hint" id="card-preference-link-hint">
        {t("card.rotatePreferenceLinkHint")}
      </p>
      {done && (
        <p class="alert alert-success" role="status" id="card-preference-link-rotated">
          {t("card.preferenceLinkRotated")}
        </p>
      )}
      <ErrorAlert error={error} />
      {confirming ? (
        <div class="button-row">
          <button type="button" class="button button-primary" id="card-rotate-preference-link-confirm" aria-disabled={busy} onClick={rotate}>
            {t("card.rotatePreferenceLinkConfirm")}
          </button>
          <button type="button" class="button button-secondary" onClick={() => setConfirming(false)}>
            {t("common.cancel")}
          </button>
        </div>
      ) : (
        <button
          type="button"
          class="button button-secondary"
          id="card-rotate-preference-link"
          aria-describedby="card-preference-link-hint"
          onClick={() => {
            setDone(false);
            setConfirming(true);
          }}
        >
          {t("card.rotatePreferenceLink")}
        </button>
      )}
    </section>
  );
}
