/*
 * The finite-difference kernel of src/synth/kernel.ts in plain C, for bench/synth.ts: the same
 * loops, float32 arrays and double arithmetic (as JavaScript computes), so that both give the same
 * wavefield to the last bit. Usage: synth-kernel NX NZ STEPS REPEATS; prints one line per repeat:
 * seconds and a checksum of vz.
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>

#define C1 (9.0 / 8.0)
#define C2 (-1.0 / 24.0)

static void update_velocity(int nx, int nz, float *vx, float *vz, const float *sxx, const float *szz,
                            const float *sxz, const float *bx, const float *bz, const float *damp, double dth) {
  int nx2 = 2 * nx;
  for (int j = 2; j < nz - 2; j++) {
    int row = j * nx;
    for (int i = 2; i < nx - 2; i++) {
      int k = row + i;
      double dsxx_dx = C1 * ((double)sxx[k + 1] - sxx[k]) + C2 * ((double)sxx[k + 2] - sxx[k - 1]);
      double dsxz_dz = C1 * ((double)sxz[k] - sxz[k - nx]) + C2 * ((double)sxz[k + nx] - sxz[k - nx2]);
      vx[k] = (float)((double)damp[k] * ((double)vx[k] + dth * bx[k] * (dsxx_dx + dsxz_dz)));
      double dsxz_dx = C1 * ((double)sxz[k] - sxz[k - 1]) + C2 * ((double)sxz[k + 1] - sxz[k - 2]);
      double dszz_dz = C1 * ((double)szz[k + nx] - szz[k]) + C2 * ((double)szz[k + nx2] - szz[k - nx]);
      vz[k] = (float)((double)damp[k] * ((double)vz[k] + dth * bz[k] * (dsxz_dx + dszz_dz)));
    }
  }
}

static void update_stress(int nx, int nz, const float *vx, const float *vz, float *sxx, float *szz, float *sxz,
                          const float *lam2mu, const float *lam, const float *muxz, const float *damp, double dth) {
  int nx2 = 2 * nx;
  for (int j = 2; j < nz - 2; j++) {
    int row = j * nx;
    for (int i = 2; i < nx - 2; i++) {
      int k = row + i;
      double dvx_dx = C1 * ((double)vx[k] - vx[k - 1]) + C2 * ((double)vx[k + 1] - vx[k - 2]);
      double dvz_dz = C1 * ((double)vz[k] - vz[k - nx]) + C2 * ((double)vz[k + nx] - vz[k - nx2]);
      double d = damp[k];
      sxx[k] = (float)(d * ((double)sxx[k] + dth * ((double)lam2mu[k] * dvx_dx + (double)lam[k] * dvz_dz)));
      szz[k] = (float)(d * ((double)szz[k] + dth * ((double)lam[k] * dvx_dx + (double)lam2mu[k] * dvz_dz)));
      double dvx_dz = C1 * ((double)vx[k + nx] - vx[k]) + C2 * ((double)vx[k + nx2] - vx[k - nx]);
      double dvz_dx = C1 * ((double)vz[k + 1] - vz[k]) + C2 * ((double)vz[k + 2] - vz[k - 1]);
      sxz[k] = (float)(d * ((double)sxz[k] + dth * (double)muxz[k] * (dvx_dz + dvz_dx)));
    }
  }
}

/* The bench's medium, as bench/synth.ts builds it: homogeneous, a sponge of 20 cells. */
static float sponge(int k, int n) {
  int edge = k < n - 1 - k ? k : n - 1 - k;
  if (edge >= 20) return 1.0f;
  double a = 0.3 / 20 * (20 - edge);
  return (float)exp(-a * a);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s NX NZ STEPS REPEATS\n", argv[0]);
    return 2;
  }
  int nx = atoi(argv[1]), nz = atoi(argv[2]), steps = atoi(argv[3]), repeats = atoi(argv[4]);
  size_t n = (size_t)nx * nz;
  float *f[13];
  for (int a = 0; a < 13; a++) f[a] = calloc(n, sizeof(float));
  float *vx = f[0], *vz = f[1], *sxx = f[2], *szz = f[3], *sxz = f[4];
  float *bx = f[5], *bz = f[6], *lam2mu = f[7], *lam = f[8], *muxz = f[9], *damp = f[10];
  const double rho = 2000, vp = 3000, vs = 1700, h = 10, dt = 0.5 * h / vp;
  for (int j = 0; j < nz; j++)
    for (int i = 0; i < nx; i++) {
      size_t k = (size_t)j * nx + i;
      bx[k] = bz[k] = (float)(1 / rho);
      lam2mu[k] = (float)(rho * vp * vp);
      lam[k] = (float)(rho * (vp * vp - 2 * vs * vs));
      muxz[k] = (float)(rho * vs * vs);
      damp[k] = sponge(i, nx) * sponge(j, nz);
    }
  int source = (nz / 2) * nx + nx / 2;
  for (int r = 0; r < repeats; r++) {
    for (size_t k = 0; k < n; k++) vx[k] = vz[k] = sxx[k] = szz[k] = sxz[k] = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int s = 0; s < steps; s++) {
      update_velocity(nx, nz, vx, vz, sxx, szz, sxz, bx, bz, damp, dt / h);
      update_stress(nx, nz, vx, vz, sxx, szz, sxz, lam2mu, lam, muxz, damp, dt / h);
      double t = (s + 0.5) * dt - 0.1, a = (M_PI * 15 * t) * (M_PI * 15 * t);
      double m = dt * 1e12 * (1 - 2 * a) * exp(-a) / (h * h);
      sxx[source] = (float)(sxx[source] - m);
      szz[source] = (float)(szz[source] - m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += fabs((double)vz[k]);
    printf("%.6f %.17g\n", (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), sum);
  }
  return 0;
}
