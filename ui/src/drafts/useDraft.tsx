import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type DraftKind } from "../bindings";
import { describeError, type AppError } from "../errors";
import { formatDateTime } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand } from "../useCommand";

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
  // Why drafts are not being kept, when the last load, save or discard failed.
  const [problem, setProblem] = useState<AppError | null>(null);
  const loaded = useRef(false);
  const first = useRef(JSON.stringify(values));

  useEffect(() => {
    let live = true;
    loaded.current = false;
    callCommand(commands.draftLoad(kind, subjectId), {
      ok: (draft) => {
        if (!live) return;
        loaded.current = true;
        if (draft && typeof draft.payload === "object" && draft.payload !== null) {
          setOffer({ values: draft.payload as T, updatedAt: draft.updated_at });
        }
      },
      failed: (e) => {
        if (!live) return;
        // Without the kept draft, what is typed now is still worth keeping.
        loaded.current = true;
        setProblem(e);
      },
    });
    return () => {
      live = false;
    };
  }, [kind, subjectId]);

  const text = JSON.stringify(values);
  useEffect(() => {
    // Nothing typed yet, a draft still waiting for an answer, or the work is done: nothing to keep.
    if (!options.enabled || offer || !loaded.current || text === first.current) return;
    const typed = JSON.parse(text) as T;
    if (Object.values(typed).every((v) => !v.trim())) return;
    const timer = setTimeout(() => {
      callCommand(commands.draftSave(kind, subjectId, typed), { ok: () => setProblem(null), failed: setProblem });
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
    callCommand(commands.draftDiscard(kind, subjectId), { failed: setProblem });
  }

  return { offer, problem, restore, discard };
}

/** The offer of a kept draft, with Restore and Discard; and why drafts are not kept, when they are not. */
export function DraftOffer(props: {
  offer: { updatedAt: string } | null;
  problem?: AppError | null;
  onRestore: () => void;
  onDiscard: () => void;
}) {
  const { t, locale } = useI18n();
  const problem = props.problem ? (
    <p class="hint draft-problem" role="status">
      {t("draft.notKept", { reason: describeError(props.problem, t) })}
    </p>
  ) : null;
  if (!props.offer) return problem;
  return (
    <>
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
      {problem}
    </>
  );
}
