import { useState } from "preact/hooks";

/**
 * The keyboard of a list shown as a grid (the queue, the screening list): arrows and Home/End move
 * the selection, Enter opens the selected row; a click selects and opens. `ids` are the rows' ids
 * in the order shown.
 */
export function useGridSelection(ids: number[]): GridSelection {
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [openId, setOpenId] = useState<number | null>(null);
  const selectedIndex = selectedId === null ? -1 : ids.indexOf(selectedId);

  function onTableKey(e: KeyboardEvent) {
    if (ids.length === 0) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      const next = selectedIndex < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, selectedIndex + step));
      setSelectedId(ids[next] ?? null);
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      setSelectedId(ids[e.key === "Home" ? 0 : ids.length - 1] ?? null);
    } else if (e.key === "Enter" && selectedIndex >= 0) {
      e.preventDefault();
      setOpenId(ids[selectedIndex] ?? null);
    }
  }

  /** A click on a row: select it and open it. */
  function choose(id: number) {
    setSelectedId(id);
    setOpenId(id);
  }

  /** The id for `aria-activedescendant`, when a shown row is selected. */
  const activeId = selectedIndex >= 0 ? selectedId : null;

  return { selectedId, activeId, openId, setOpenId, onTableKey, choose };
}

/** `useGridSelection` over `rows`, and the row open in the side panel (none once it is no longer listed). */
export function useGridRows<T>(rows: T[], idOf: (row: T) => number): { selection: GridSelection; open: T | null } {
  const selection = useGridSelection(rows.map(idOf));
  const open = rows.find((row) => idOf(row) === selection.openId) ?? null;
  return { selection, open };
}

/** What `useGridSelection` gives a grid and its rows. */
export interface GridSelection {
  selectedId: number | null;
  /** The id for `aria-activedescendant`, when a shown row is selected. */
  activeId: number | null;
  openId: number | null;
  setOpenId: (id: number | null) => void;
  onTableKey: (e: KeyboardEvent) => void;
  choose: (id: number) => void;
}
