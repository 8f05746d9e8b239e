import t from 'tap';
import { siteNoise } from '../../src/pseudo/gathers.ts';
import { rms } from '../../src/synth/records.ts';
import { seededUniform } from '../../src/util/random.ts';

t.test(
  'site noise: the asked standard deviation, a hum between 6 and 12 Hz, a swell, reproducible',
  async (t) => {
    const fs = 100;
    const noise = siteNoise(6000, fs, 2.5, seededUniform(3));
    t.ok(Math.abs(rms(noise) - 2.5) < 1e-4, `rms ${rms(noise)}`);
    t.same(siteNoise(6000, fs, 2.5, seededUniform(3)), noise, 'the same seed, the same noise');
    // Power at f by a direct DFT sum: the hum's band and the swell's stand above white noise's level.
    const power = (hz: number) => {
      let [re, im] = [0, 0];
      for (let k = 0; k < noise.length; k++) {
        re += noise[k] * Math.cos((2 * Math.PI * hz * k) / fs);
        im += noise[k] * Math.sin((2 * Math.PI * hz * k) / fs);
      }
      return (re * re + im * im) / noise.length;
    };
    let hum = 0;
    for (let hz = 6; hz <= 12; hz += 1 / 60) hum = Math.max(hum, power(hz));
    const white = [20, 25, 30, 35, 40].map(power).reduce((a, b) => a + b) / 5;
    t.ok(hum > 20 * white, `hum ${hum.toFixed(1)} against ${white.toFixed(2)} at 20-40 Hz`);
    t.ok(power(0.1) > 5 * white, `swell ${power(0.1).toFixed(1)} at 0.1 Hz`);
  },
);
