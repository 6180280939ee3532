import { describe, expect, it } from 'vitest';
import { checkCron } from './cron.js';

describe('checkCron', () => {
  it.each(['*/15 7-18 * * 1-5', '0 2 * * *', '0 0 * * MON-FRI', '0 9 1 jan,jul *', '30 */2 * * * *', '@daily', '0 0 29 2 *', '0 0 ? * sun', '0 0 * * 0,7'])('accepts %s', (expr) => {
    expect(checkCron(expr)).toBeUndefined();
  });

  it.each([
    ['*/15 7-18 * *', 0, 'cron needs 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got 4'],
    ['61 * * * *', 0, 'cron minute 61 is out of range 0-59'],
    ['0 7-24 * * *', 4, 'cron hour 24 is out of range 0-23'],
    ['0 18-7 * * *', 2, 'cron hour range 18-7 runs backwards; write it as 18-23,0-7'],
    ['*/0 * * * *', 1, 'cron minute step "/0" must be a whole number from 1'],
    ['5/15 * * * *', 0, 'cron minute "5/15": a step needs a range or *, e.g. 5-59/15'],
    ['0 0 * * mom', 8, 'cron day of week "mom" is not a number or a name (sun-sat), did you mean "mon"?'],
    ['0 0 1,,2 * *', 6, 'cron day of month has an empty item in its list'],
    ['0 0 31 2,4 *', 4, 'cron never runs: no month it names has day 31'],
    ['@dayly', 0, 'unknown cron macro "@dayly", did you mean "@daily"?'],
  ])('refuses %s at offset %i', (expr, offset, message) => {
    expect(checkCron(expr)).toEqual({ offset, message });
  });
});
