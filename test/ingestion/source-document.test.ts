import { htmlToText, sourceFormatOf, toIngestibleText } from '../../retrieval/source-document';

describe('source documents', () => {
  it.each([
    ['guide.md', 'markdown'],
    ['README.MARKDOWN', 'markdown'],
    ['notes.txt', 'text'],
    ['page.html', 'html'],
    ['page.htm', 'html'],
    ['image.png', undefined],
    ['Makefile', undefined],
  ])('%s is read as %s', (name, format) => {
    expect(sourceFormatOf(name)).toBe(format);
  });

  it('takes a Markdown title from the first heading, else the fallback', () => {
    expect(toIngestibleText('Intro\n\n# Connection pools\n\nText.', 'markdown', 'file').title).toBe(
      'Connection pools',
    );
    expect(toIngestibleText('No heading here.', 'markdown', 'file').title).toBe('file');
    expect(toIngestibleText('# Heading', 'text', 'notes').title).toBe('notes');
    expect(toIngestibleText('# Heading', 'markdown', 'file', 'Given').title).toBe('Given');
  });

  it('turns HTML into headings, paragraphs, lists and fenced code, dropping scripts and styles', () => {
    const html = `<!doctype html><html><head><title>Pool &amp; Co</title><style>p{color:red}</style></head>
      <body><h1>Connection
      pools</h1><p>Keep a few   connections <b>open</b>&nbsp;and lend them out.</p>
      <script>alert("x")</script><!-- a comment -->
      <ul><li>acquire</li><li>release</li></ul>
      <pre><code>pool = Pool(4)
pool.acquire()</code></pre><p>&#x2014; done &lt;ok&gt;</p></body></html>`;
    const { title, text } = htmlToText(html);
    expect(title).toBe('Pool & Co');
    expect(text).toBe(
      '# Connection pools\n\nKeep a few connections open and lend them out.\n\n- acquire\n- release\n\n```\npool = Pool(4)\npool.acquire()\n```\n\n\u2014 done <ok>',
    );
    expect(toIngestibleText(html, 'html', 'file').title).toBe('Pool & Co');
  });

  it('reads hostile markup in linear time', () => {
    const html = '<p'.repeat(50_000) + '<'.repeat(50_000) + '&#99999999;'.repeat(1000);
    const started = performance.now();
    htmlToText(html);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
