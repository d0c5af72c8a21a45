import type { LayerRole, LayerRow, SelectionSummary } from '../../messages/selection-summary.ts';
import { element, type PanelElements } from './elements.ts';

export interface LayerHandlers {
  setRole(nodeId: string, role: LayerRole | 'automatic'): void;
  /** Exemplar ids bottom first. */
  setExemplarOrder(nodeIds: string[]): void;
}

const ROLE_LABELS: Record<LayerRole, string> = {
  source: 'Source',
  exemplar: 'Exemplar',
  map: 'Edit map',
  ignore: 'Ignore',
};
const TYPE_ICONS: Record<string, string> = {
  FRAME: '#',
  COMPONENT: '❖',
  INSTANCE: '◇',
  SECTION: '▭',
  GROUP: '▣',
  TEXT: 'T',
  RECTANGLE: '▢',
  ELLIPSE: '○',
  VECTOR: '✎',
};

/**
 * The selected layers with their roles. Exemplars are listed top first, like Figma's layers
 * panel; moving one up puts it higher in the stack (composited later).
 */
export function renderLayers(elements: PanelElements, selection: SelectionSummary, handlers: LayerHandlers): void {
  const document = elements.layerList.ownerDocument;
  const exemplarsBottomFirst = selection.rows.filter((row) => row.role === 'exemplar').map((row) => row.id);
  const rows = [
    ...selection.rows.filter((row) => row.role === 'source'),
    ...selection.rows.filter((row) => row.role === 'exemplar').reverse(),
    ...selection.rows.filter((row) => row.role === 'map' || row.role === 'ignore'),
  ];
  elements.layerList.replaceChildren(...rows.map((row) => layerItem(document, row, exemplarsBottomFirst, handlers)));
  elements.selectionIssues.replaceChildren(
    ...selection.issues.map((issue) =>
      element(
        document,
        'li',
        { class: 'issue', 'data-severity': issue.severity, 'data-code': issue.code },
        issue.message,
      ),
    ),
  );
}

function layerItem(
  document: Document,
  row: LayerRow,
  exemplarsBottomFirst: string[],
  handlers: LayerHandlers,
): HTMLLIElement {
  const item = element(document, 'li', {
    class: 'layer',
    'data-id': row.id,
    'data-role': row.role,
    'data-origin': row.origin,
  });
  item.append(element(document, 'span', { class: 'layer-icon', 'aria-hidden': 'true' }, TYPE_ICONS[row.type] ?? '▢'));
  item.append(element(document, 'span', { class: 'layer-name', title: row.name }, row.name));
  const select = element(document, 'select', { 'aria-label': `Role of ${row.name}` });
  select.append(element(document, 'option', { value: 'automatic' }, `Auto: ${ROLE_LABELS[row.role]}`));
  for (const [role, label] of Object.entries(ROLE_LABELS))
    select.append(element(document, 'option', { value: role }, label));
  select.value = row.origin === 'automatic' ? 'automatic' : row.role;
  select.addEventListener('change', () => handlers.setRole(row.id, select.value as LayerRole | 'automatic'));
  item.append(select);
  const index = exemplarsBottomFirst.indexOf(row.id);
  const move = (label: string, text: string, target: number) => {
    const button = element(
      document,
      'button',
      { class: 'layer-move', type: 'button', 'aria-label': `${label} ${row.name}` },
      text,
    );
    button.disabled = index < 0 || target < 0 || target >= exemplarsBottomFirst.length;
    button.addEventListener('click', () => {
      const order = [...exemplarsBottomFirst];
      order.splice(index, 1);
      order.splice(target, 0, row.id);
      handlers.setExemplarOrder(order);
    });
    return button;
  };
  item.append(move('Move up', '↑', index + 1), move('Move down', '↓', index - 1));
  return item;
}
