import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type DraftKind } from "../bindings";
import { formatDateTime } from "../i18n/format";
import { useI18n } from "../i18n";

/** How long typing must pause before the form is saved as a draft. */
export const DRAFT_SAVE_DELAY_MS = 1000;

interface Offer<T> {
  values: T;
  updatedAt: string;
}

/**
 * Keeps a half-filled form as an encrypted draft in the clinic database (only its author can read
 * it), so it survives a crash of the console or a lost connection, and offers it back when the
 * form is opened again. The core throws the draft away when the form's work is saved.
 */
export function useDraft<T extends Record<string, string>>(
  kind: DraftKind,
  subjectId: number,
  values: T,
  apply: (values: T) => void,
  options: { enabled: boolean },
) {
  const [offer, setOffer] = useState<Offer<T> | null>(null);
  const loaded = useRef(false);
  const first = useRef(JSON.stringify(values));

  useEffect(() => {
    let live = true;
    loaded.current = false;
    commands
      .draftLoad?.(kind, subjectId)
      ?.then((r) => {
        if (!live) return;
        loaded.current = true;
        if (r.status === "ok" && r.data && typeof r.data.payload === "object" && r.data.payload !== null) {
          setOffer({ values: r.data.payload as T, updatedAt: r.data.updated_at });
        }
      })
      .catch(() => {
        loaded.current = true;
      });
    return () => {
      live = false;
    };
  }, [kind, subjectId]);

  const text = JSON.stringify(values);
  useEffect(() => {
    // Nothing typed yet, a draft still waiting for an answer, or the work is done: nothing to keep.
    if (!options.enabled || offer || !loaded.current || text === first.current) return;
    if (Object.values(values).every((v) => !v.trim())) return;
    const timer = setTimeout(() => {
      void commands.draftSave?.(kind, subjectId, values)?.catch(() => undefined);
    }, DRAFT_SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, options.enabled, offer, kind, subjectId]);

  function restore() {
    if (!offer) return;
    apply(offer.values);
    setOffer(null);
  }

  function discard() {
    setOffer(null);
    void commands.draftDiscard?.(kind, subjectId)?.catch(() => undefined);
  }

  return { offer, restore, discard };
}

/** The offer of a kept draft, with Restore and Discard. */
export function DraftOffer(props: { offer: { updatedAt: string } | null; onRestore: () => void; onDiscard: () => void }) {
  const { t, locale } = useI18n();
  if (!props.offer) return null;
  return (
    <div class="alert alert-info draft-offer" role="status">
      <p>{t("draft.kept", { when: formatDateTime(props.offer.updatedAt, locale) })}</p>
      <div class="button-row">
        <button type="button" class="button button-primary" onClick={props.onRestore}>
          {t("draft.restore")}
        </button>
        <button type="button" class="button button-secondary" onClick={props.onDiscard}>
          {t("draft.discard")}
        </button>
      </div>
    </div>
  );
}
