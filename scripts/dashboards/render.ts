/**
 * The files of dashboards/ as `npm run dashboards` writes them: data-views.ndjson, then one
 * file per dashboard holding the dashboard and every object its panels show (data views
 * excepted), so each file reads on its own and imports after the data views.
 */
import { lensObject } from './lens.js';
import { dashboardObject, dataViewObject, searchObject, toNdjson } from './objects.js';
import { DASHBOARDS, DATA_VIEWS, LOGS_VIEW } from './specs/index.js';

export const DATA_VIEWS_FILE = 'data-views.ndjson';

/** File name to text, in a stable order. */
export function renderDashboards(): Map<string, string> {
  const files = new Map([[DATA_VIEWS_FILE, toNdjson(DATA_VIEWS.map(dataViewObject))]]);
  for (const spec of DASHBOARDS) {
    const shown = spec.panels.map((panel) =>
      'lens' in panel ? lensObject(panel.lens, LOGS_VIEW) : searchObject(panel.search, LOGS_VIEW),
    );
    const dashboard = dashboardObject({
      id: spec.id,
      title: spec.title,
      description: spec.description,
      timeFrom: spec.timeFrom,
      panels: spec.panels.map((panel, n) => ({
        type: 'lens' in panel ? 'lens' : 'search',
        id: shown[n]?.id ?? '',
        w: panel.w,
        h: panel.h,
      })),
    });
    files.set(`${spec.file}.ndjson`, toNdjson([dashboard, ...shown]));
  }
  return files;
}
