import type { ComponentChildren, Ref } from "preact";
import { useI18n } from "../i18n";
import type { GridSelection } from "../queue/grid";
import { TableNotice } from "./TableNotice";

/**
 * A list of work shown as a keyboard grid (the queue, the screening list, the leads): the keyboard
 * hint, the table with its column heads, a row while loading or when empty, and the rows. Rows
 * are `WorkRow`s; a row opens the side panel the screen shows beside the grid.
 */
export function WorkGrid(props: {
  /** Names the hint: `{name}-hint`. */
  name: string;
  /** Names the rows: `{rowName}-row-{id}`, as `WorkRow` does. */
  rowName: string;
  label: string;
  selection: GridSelection;
  head: ComponentChildren;
  colSpan: number;
  loading: boolean;
  empty: boolean;
  emptyText: string;
  tableClass?: string;
  gridRef?: Ref<HTMLTableElement>;
  children: ComponentChildren;
  /** Below the table, inside its card (e.g. "show more"). */
  footer?: ComponentChildren;
}) {
  const { t } = useI18n();
  const { activeId, onTableKey } = props.selection;
  return (
    <div class="card table-card">
      <p id={`${props.name}-hint`} class="hint">
        {t("queue.keyboardHint")}
      </p>
      <table
        ref={props.gridRef}
        class={props.tableClass ? `data-table ${props.tableClass}` : "data-table"}
        role="grid"
        aria-label={props.label}
        aria-describedby={`${props.name}-hint`}
        tabIndex={0}
        aria-activedescendant={activeId !== null ? `${props.rowName}-row-${activeId}` : undefined}
        onKeyDown={onTableKey}
      >
        <thead>
          <tr>{props.head}</tr>
        </thead>
        <tbody>
          <TableNotice colSpan={props.colSpan} loading={props.loading} empty={props.empty} emptyText={props.emptyText} />
          {props.children}
        </tbody>
      </table>
      {props.footer}
    </div>
  );
}

/** One row of a `WorkGrid`: selected with the keyboard, opened with Enter or a click. */
export function WorkRow(props: { rowName: string; id: number; selection: GridSelection; children: ComponentChildren }) {
  const { selectedId, openId, choose } = props.selection;
  return (
    <tr
      id={`${props.rowName}-row-${props.id}`}
      aria-selected={props.id === selectedId}
      class={props.id === openId ? "is-open" : undefined}
      onClick={() => choose(props.id)}
    >
      {props.children}
    </tr>
  );
}
