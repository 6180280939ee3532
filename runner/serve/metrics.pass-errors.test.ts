import { describe, expect, it } from 'vitest';
import { ConnectorFailure, BrowserErrors } from '../../connectors/connector.errors.js';
import { ServeMetrics } from './metrics.js';

describe('rekey_pass_errors_total', () => {
  it('counts failed passes by their catalogue code, an error without one as UNEXPECTED_ERROR', async () => {
    const m = new ServeMetrics([], { counts: () => Promise.resolve({}) });
    const at = new Date();
    const end = (error?: unknown) => m.passEnded({ pipeline: 'p', trigger: { kind: 'schedule' }, startedAt: at, finishedAt: at, ...(error !== undefined && { error }) } as Parameters<ServeMetrics['passEnded']>[0]);
    end(new ConnectorFailure(BrowserErrors.SCREEN_CHANGED, 'page 1 of the form changed'));
    end(new ConnectorFailure(BrowserErrors.SCREEN_CHANGED, 'page 1 of the form changed'));
    end(new Error('boom'));
    end();
    const text = await m.text();
    expect(text).toContain('rekey_pass_errors_total{pipeline="p",code="BROWSER_SCREEN_CHANGED"} 2');
    expect(text).toContain('rekey_pass_errors_total{pipeline="p",code="UNEXPECTED_ERROR"} 1');
  });
});
