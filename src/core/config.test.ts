import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig, parseSize } from './config.ts';
import { RiposteError } from './errors.ts';

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const expectConfigError = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof RiposteError, 'a RiposteError');
      assert.equal(error.code, 'config.invalid');
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /\n/, 'one line');
      return true;
    });

  test('defaults give an embedded store on loopback', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.database_url, undefined);
    assert.equal(config.data_dir, './riposte-data');
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 8088);
    assert.equal(config.server.body_limit, 1048576);
    assert.equal(config.log.level, 'info');
  });

  test('environment wins over the file, flags win over both', () => {
    const file = join(dir, 'layered.yaml');
    writeFileSync(file, 'server:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\n');
    const config = loadConfig({ env: { RIPOSTE_PORT: '9100' }, file, overrides: { 'server.host': '::1' } });
    assert.equal(config.server.port, 9100);
    assert.equal(config.server.host, '::1');
    assert.equal(config.log.level, 'debug');
  });

  test('riposte.yaml in the working directory is picked up without being named', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, 'riposte.yaml'), 'server:\n  body_limit: 2MiB\n');
    assert.equal(loadConfig({ env: {}, cwd }).server.body_limit, 2 * 1048576);
  });

  test('an invalid env value names the variable, the key and the value', () => {
    expectConfigError(() => loadConfig({ env: { RIPOSTE_PORT: 'eighty' }, cwd: dir }), /server\.port \(from RIPOSTE_PORT\).*"eighty"/);
    expectConfigError(() => loadConfig({ env: { RIPOSTE_LOG_LEVEL: 'loud' }, cwd: dir }), /log\.level.*must be one of/);
    expectConfigError(() => loadConfig({ env: { RIPOSTE_DATABASE_URL: 'mysql://x' }, cwd: dir }), /database_url.*postgres:\/\//);
    expectConfigError(() => loadConfig({ env: { RIPOSTE_BODY_LIMIT: 'lots' }, cwd: dir }), /body_limit.*size/);
  });

  test('unknown keys in the file are reported (typos do not pass silently)', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'server:\n  prot: 8080\n');
    expectConfigError(() => loadConfig({ env: {}, file }), /unknown configuration key server\.prot/);
  });

  test('a file that is not YAML, or not a mapping, is reported in one line', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'server: [unclosed\n');
    expectConfigError(() => loadConfig({ env: {}, file: bad }), /not valid YAML/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expectConfigError(() => loadConfig({ env: {}, file: list }), /must hold a mapping/);
  });

  test('a named config file that does not exist is an error, not silently ignored', () => {
    assert.throws(
      () => loadConfig({ env: { RIPOSTE_CONFIG: join(dir, 'nope.yaml') }, cwd: dir }),
      (error: unknown) => error instanceof RiposteError && error.code === 'config.unreadable' && /ENOENT/.test(error.message),
    );
  });

  test('sizes parse in decimal and binary units', () => {
    assert.equal(parseSize('1MiB'), 1048576);
    assert.equal(parseSize('512 kb'), 512000);
    assert.equal(parseSize(2048), 2048);
    assert.equal(parseSize('1.5GiB'), 1610612736);
    assert.equal(parseSize('ten'), undefined);
    assert.equal(parseSize('5 parsecs'), undefined);
  });
});
