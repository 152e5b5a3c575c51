import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); GATEHOUSE_CHROMIUM_PATH names another. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.GATEHOUSE_CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
}

export function chromiumAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(chromiumPath(env));
}

/** What a page did when a real browser opened it. */
export interface PageView {
  /** Every URL the page requested, the page itself included. */
  requests: string[];
  consoleErrors: string[];
  /** Per canvas: its id, and how many pixels carry each of its datasets' colours. */
  canvases: Array<{
    id: string;
    width: number;
    height: number;
    paintedPixels: number;
    pixelsByColour: Record<string, number>;
  }>;
  /** The page's `data-drawn` attribute once its charts are drawn. */
  drawn: string | null;
}

// Runs in the page (this project compiles without DOM types, so it travels as source text).
const READ_CANVASES = `(() => {
  const hex = (value) => value.toString(16).padStart(2, '0');
  return Array.from(document.querySelectorAll('canvas')).map((canvas) => {
    const context = canvas.getContext('2d');
    const pixelsByColour = {};
    let paintedPixels = 0;
    if (context) {
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let index = 0; index < data.length; index += 4) {
        if (data[index + 3] === 0) continue;
        paintedPixels++;
        if (data[index + 3] !== 255) continue;
        const colour = '#' + hex(data[index]) + hex(data[index + 1]) + hex(data[index + 2]);
        pixelsByColour[colour] = (pixelsByColour[colour] || 0) + 1;
      }
    }
    return { id: canvas.id, width: canvas.width, height: canvas.height, paintedPixels, pixelsByColour };
  });
})()`;

/**
 * Opens an HTML file in headless Chromium (never a downloaded browser), waits until its charts say they
 * are drawn, reads every canvas's pixels, and optionally writes a full-page screenshot.
 */
export async function viewInChromium(
  file: string,
  options: { screenshot?: string; executablePath?: string; width?: number } = {},
): Promise<PageView> {
  const browser = await chromium.launch({ executablePath: options.executablePath ?? chromiumPath() });
  try {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1100, height: 900 } });
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(pathToFileURL(file).toString(), { waitUntil: 'load' });
    await page.waitForSelector('body[data-drawn]', { timeout: 15_000 }).catch(() => undefined);
    const drawn = await page.getAttribute('body', 'data-drawn');
    const canvases = await page.evaluate<PageView['canvases']>(READ_CANVASES);
    if (options.screenshot) await page.screenshot({ path: options.screenshot, fullPage: true });
    return { requests, consoleErrors, canvases, drawn };
  } finally {
    await browser.close();
  }
}
