/** Resolves with the first SIGINT or SIGTERM: a role stops cleanly on either (SIGKILL loses nothing either). */
export function untilStopSignal(): { stopped: () => boolean; signal: Promise<string> } {
  let received: string | undefined;
  const signal = new Promise<string>((resolve) => {
    const on = (name: string) => {
      received = name;
      resolve(name);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  return { stopped: () => received !== undefined, signal };
}
