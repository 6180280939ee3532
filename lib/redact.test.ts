import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl, redactUrlIn, scrubMessage } from './redact.js';

describe('redactUrl', () => {
  it('replaces the password and keeps the rest as written', () => {
    expect(redactUrl('postgres://u:p%40ss@db/legacy')).toBe('postgres://u:***@db/legacy');
    expect(redactUrl('postgres://rekey:s%40cret@db:5432/forms')).toBe('postgres://rekey:***@db:5432/forms');
    expect(redactUrl('postgres://u:p@ss@DB:5432/x?ssl=true')).toBe('postgres://u:***@DB:5432/x?ssl=true');
  });

  it('leaves URLs without a password, SQLite names and plain text alone', () => {
    expect(redactUrl('mariadb://root@db/forms')).toBe('mariadb://root@db/forms');
    expect(redactUrl('mariadb://root@db/forms?x=a:b@c')).toBe('mariadb://root@db/forms?x=a:b@c');
    expect(redactUrl('sqlite:./legacy.sqlite')).toBe('sqlite:./legacy.sqlite');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});

describe('redactSecrets', () => {
  it('takes each secret out as given, URL-encoded and URL-decoded', () => {
    expect(redactSecrets('failed for s@cret and s%40cret', ['s@cret'])).toBe('failed for *** and ***');
    expect(redactSecrets('failed for s@cret and s%40cret', ['s%40cret'])).toBe('failed for *** and ***');
    expect(redactSecrets('nothing here', [''])).toBe('nothing here');
  });
});

describe('redactUrlIn', () => {
  it('shows the URL redacted and takes its password out everywhere else', () => {
    const url = 'postgres://u:p%40ss@db/legacy';
    expect(redactUrlIn(`failed for ${url}: password p@ss wrong`, url)).toBe('failed for postgres://u:***@db/legacy: password *** wrong');
    expect(redactUrlIn('password p%40ss wrong', url)).toBe('password *** wrong');
  });

  it('changes nothing for a URL without a password', () => {
    expect(redactUrlIn('cannot open sqlite:x.db', 'sqlite:x.db')).toBe('cannot open sqlite:x.db');
    expect(redactUrlIn('root@db refused', 'mariadb://root@db/forms')).toBe('root@db refused');
  });
});

describe('scrubMessage', () => {
  it("hides what a library's message quotes of the data, such as JSON.parse's snippet", () => {
    let message = '';
    try {
      JSON.parse('CANARY-Smythe-77 is not JSON');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('CANARY-Smy');
    expect(scrubMessage(message)).not.toContain('CANARY');
    expect(scrubMessage(`Duplicate entry 'CANARY-1' for key 'PRIMARY'`)).toBe('Duplicate entry "…" for key "…"');
    expect(scrubMessage('first line\nsecond CANARY')).toBe('first line');
    expect(scrubMessage('x'.repeat(400))).toHaveLength(300);
  });
});
