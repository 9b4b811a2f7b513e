import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** A modal dialog: focus moves into it, Escape closes it, focus returns where it was. */
export function Dialog(props: {
  id: string;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>("select, input, textarea, button");
    first?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div class="dialog-backdrop">
      <div
        class="dialog card"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${props.id}-title`}
        ref={box}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            props.onClose();
          }
        }}
      >
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}
