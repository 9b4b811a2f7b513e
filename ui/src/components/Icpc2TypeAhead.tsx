import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type Icpc2Code } from "../bindings";
import { describeError, type AppError } from "../errors";
import { useI18n } from "../i18n";
import { callCommand } from "../useCommand";

/** How long typing must pause before a search is sent. */
export const SEARCH_DEBOUNCE_MS = 120;

/**
 * An ICPC-2 code field that searches as the doctor types: ↑/↓ move through the suggestions,
 * Enter chooses one, Escape closes the list. `value` is the chosen code ("" until one is chosen).
 */
export function Icpc2TypeAhead(props: {
  id: string;
  value: string;
  onChange: (code: string) => void;
  invalid?: boolean;
  describedBy?: string;
  /** The chosen code's "code title", when the field starts with a code. */
  initialLabel?: string;
}) {
  const { t } = useI18n();
  const [text, setText] = useState(props.value);
  const [results, setResults] = useState<Icpc2Code[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [searched, setSearched] = useState(false);
  const [label, setLabel] = useState(props.initialLabel ?? "");
  // A failed search, said as such rather than as "no codes match".
  const [problem, setProblem] = useState<AppError | null>(null);
  const sequence = useRef(0);
  const listId = `${props.id}-list`;

  useEffect(() => {
    const query = text.trim();
    if (!query || query === props.value) {
      setResults([]);
      setSearched(false);
      setProblem(null);
      return;
    }
    const mine = ++sequence.current;
    const timer = setTimeout(() => {
      callCommand(commands.icpc2Search(query), {
        ok: (codes) => {
          if (mine !== sequence.current) return;
          setResults(codes);
          setActive(codes.length > 0 ? 0 : -1);
          setSearched(true);
          setProblem(null);
          setOpen(true);
        },
        failed: (e) => {
          if (mine !== sequence.current) return;
          setResults([]);
          setActive(-1);
          setSearched(false);
          setOpen(false);
          setProblem(e);
        },
      });
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, props.value]);

  function choose(code: Icpc2Code) {
    sequence.current++;
    props.onChange(code.code);
    setText(code.code);
    setLabel(`${code.code} ${code.title}`);
    setOpen(false);
    setResults([]);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (results.length === 0) return;
      e.preventDefault();
      setOpen(true);
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((i) => (i + step + results.length) % results.length);
    } else if (e.key === "Enter") {
      if (open && active >= 0 && results[active]) {
        e.preventDefault();
        choose(results[active]);
      }
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      }
    }
  }

  const showList = open && (results.length > 0 || searched);
  return (
    <div class="typeahead">
      <input
        id={props.id}
        type="text"
        role="combobox"
        autoComplete="off"
        spellcheck={false}
        aria-autocomplete="list"
        aria-expanded={showList}
        aria-controls={listId}
        aria-activedescendant={showList && active >= 0 ? `${listId}-${active}` : undefined}
        aria-invalid={props.invalid}
        aria-describedby={props.describedBy}
        value={text}
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          setLabel("");
          if (props.value) props.onChange("");
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {label && <p class="typeahead-chosen">{label}</p>}
      {problem && (
        <p class="hint typeahead-problem" role="alert">
          {describeError(problem, t)}
        </p>
      )}
      {showList && (
        <ul id={listId} role="listbox" class="typeahead-list" aria-label={t("result.icpc2Results")}>
          {results.length === 0 && <li class="muted typeahead-empty">{t("result.icpc2None")}</li>}
          {results.map((r, i) => (
            <li
              key={r.code}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(r);
              }}
            >
              <span class="code">{r.code}</span> {r.title}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
