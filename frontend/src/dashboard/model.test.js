import { describe, expect, it } from 'vitest';
import {
  duplicatePanel, movePanel, newDashboard, panelFromExplore, panelPicks, removePanel, thresholdLevel, updatePanel,
} from './model.js';

const p = (id) => ({ id, title: id, metrics: [{ name: 'cpu', filters: {} }] });

describe('dashboard edits', () => {
  it('moves, resizes, duplicates and removes panels', () => {
    const panels = [p('a'), p('b'), p('c')];
    expect(movePanel(panels, 'a', 1).map((x) => x.id)).toEqual(['b', 'a', 'c']);
    expect(movePanel(panels, 'a', -1)).toBe(panels);
    expect(movePanel(panels, 'c', -5).map((x) => x.id)).toEqual(['c', 'a', 'b']);
    expect(updatePanel(panels, 'b', { w: 12 })[1].w).toBe(12);
    const copied = duplicatePanel(panels, 'b');
    expect(copied.map((x) => x.title)).toEqual(['a', 'b', 'b (copy)', 'c']);
    expect(copied[2].id).not.toBe('b');
    expect(removePanel(panels, 'b').map((x) => x.id)).toEqual(['a', 'c']);
    expect(newDashboard('x').panels).toEqual([]);
  });

  it('makes a panel of the Explore view', () => {
    const picks = [{ name: 'cpu', filters: { host: ['a'] }, groupBy: ['host'], chart: 'bars' }, { name: 'mem', filters: {} }];
    const panel = panelFromExplore(picks, 'max', () => 'gauge');
    expect(panel).toMatchObject({ title: 'cpu, mem', agg: 'max', group_by: ['host'], chart: 'bars', w: 6, h: 2 });
    expect(panel.metrics).toEqual([{ name: 'cpu', filters: { host: ['a'] } }, { name: 'mem', filters: {} }]);
  });

  it('substitutes variables in filters, dropping a filter left on all', () => {
    const panel = { metrics: [{ name: 'cpu', filters: { host: ['$host'], dc: ['eu'] } }], group_by: [], chart: 'line' };
    expect(panelPicks(panel, { host: ['web-1'] })[0].filters).toEqual({ host: ['web-1'], dc: ['eu'] });
    expect(panelPicks(panel, { host: ['web-1', 'web-2'] })[0].filters).toEqual({ host: ['web-1', 'web-2'], dc: ['eu'] });
    expect(panelPicks(panel, {})[0].filters).toEqual({ dc: ['eu'] });
  });
});

describe('stat thresholds', () => {
  it('counts the thresholds a value reaches, in any order, none for a missing value', () => {
    expect([10, 80, 95, 99].map((v) => thresholdLevel(v, [95, 80]))).toEqual([0, 1, 2, 2]);
    expect(thresholdLevel(null, [1])).toBe(0);
  });
});
