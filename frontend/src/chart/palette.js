// Okabe–Ito, the colour-blind-safe categorical palette (yellow left out: too faint on white).
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#3D3D3D', '#B8860B'];

/** Colour of the i-th series, cycling through the palette. */
export const colorAt = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
