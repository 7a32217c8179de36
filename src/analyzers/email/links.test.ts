import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeEmail } from './analyze-email.ts';
import { defangEmail, defangUrl, displayedTargetMismatch, htmlToText, linksFromHtml, linksFromText } from './links.ts';

describe('links', () => {
  test('hrefs, forms, src and meta refresh are found, with what each anchor showed', () => {
    const links = linksFromHtml(
      '<meta http-equiv="refresh" content="0; url=https://go.example/r"><a href="https://evil.example/login?a=1&amp;b=2">https://bank.example/login</a>' +
        '<a href=https://click.bank.example/t>www.bank.example</a><form action="https://collect.example/p"></form><img src=\'https://img.example/x.png\'>',
    );
    assert.deepEqual(
      links.map((l) => [l.source, l.url, l.displayed]),
      [
        ['meta_refresh', 'https://go.example/r', undefined],
        ['href', 'https://evil.example/login?a=1&b=2', 'https://bank.example/login'],
        ['href', 'https://click.bank.example/t', 'www.bank.example'],
        ['form', 'https://collect.example/p', undefined],
        ['src', 'https://img.example/x.png', undefined],
        ['text', 'https://bank.example/login', undefined],
        ['text', 'http://www.bank.example', undefined],
      ],
    );
    // Shown and real host differ in organisation: a mismatch; a tracker of the same organisation is not.
    assert.equal(displayedTargetMismatch(links[1] ?? { url: '', host: '', source: '' }), 'bank.example');
    assert.equal(displayedTargetMismatch(links[2] ?? { url: '', host: '', source: '' }), undefined);
    assert.deepEqual(
      linksFromText('see https://a.example/x, or www.b.example.').map((l) => l.url),
      ['https://a.example/x', 'http://www.b.example'],
    );
  });

  test('output is defanged', () => {
    assert.equal(defangUrl('https://login.evil.example/a.b?c=d.e'), 'hxxps://login[.]evil[.]example/a.b?c=d.e');
    assert.equal(defangEmail('ceo@evil.example'), 'ceo@evil[.]example');
  });

  test('hostile markup (thousands of unclosed tags) is read in linear time', async () => {
    const hostile = '<a <img <script <input <style <form x='.repeat(60_000);
    assert.equal(htmlToText(`<p>hi</p><script>alert(1)</script>${'<b>'.repeat(10)}there`), 'hi there');
    assert.ok(Array.isArray(linksFromHtml(hostile)));
    const message = new TextEncoder().encode(`From: a@b.example\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n${hostile}\r\n`);
    const analysis = await analyzeEmail(message);
    assert.ok(analysis.verdict);
  });
});
