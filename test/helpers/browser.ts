import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { cliEntry, repoRoot } from './cli.ts';

/** Debian's Chromium (`.ci/debian-packages`), or the one PHASESTREAM_CHROMIUM names. */
export const chromiumPath = process.env.PHASESTREAM_CHROMIUM ?? '/usr/bin/chromium';

export const skipUnlessChromium = (): false | string =>
  existsSync(chromiumPath)
    ? false
    : `needs Chromium at ${chromiumPath} (apt-get install chromium; CI has it)`;

/**
 * Headless Chromium as root on a machine without network: no sandbox (root), and none of the
 * background connections that a closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** `phasestream <args>` in a child process that keeps running; resolves with the page's URL once it serves. */
export function startWithPage(
  args: string[],
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...cliEntry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolvePromise, reject) => {
    child.stderr?.on('data', (d) => {
      stderr += d;
      const url = /live page: (http:\S+)/.exec(stderr)?.[1];
      if (url) resolvePromise({ child, url, stderr: () => stderr });
    });
    child.on('exit', (code) =>
      reject(new Error(`phasestream exited (${code}) before serving the page:\n${stderr}`)),
    );
  });
}
