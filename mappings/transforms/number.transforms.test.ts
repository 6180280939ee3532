import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

describe('number', () => {
  it.each([
    ['1,234.50', 1234.5],
    ['£12.30', 12.3],
    [' 42 ', 42],
    ['-5', -5],
    ['-£12.30', -12.3],
    ['£-12.30', -12.3],
    ['+7', 7],
    ['.5', 0.5],
    ['5.', 5],
    ['€1,000,000', 1000000],
    ['007', 7],
    ['-0', 0],
  ])('reads %j as %j', (text, expected) => {
    expect(run('number', undefined, text)).toBe(expected);
  });
  it('passes finite numbers through', () => {
    expect(run('number', undefined, 12.5)).toBe(12.5);
  });
  it.each(['abc', '1,23', '12,3456', '1e3', '--5', '-£-5', '£', '1.2.3', '12 345', '0x10', ''])('refuses %j with rule number', (text) => {
    expect(failure('number', undefined, text)).toEqual({ rule: 'number', message: `${JSON.stringify(text)} is not a number` });
  });
  it('refuses non-numeric types', () => {
    expect(failure('number', undefined, true)).toEqual({ rule: 'number', message: 'expected a number but got a boolean' });
    expect(failure('number', undefined, Infinity)).toEqual({ rule: 'number', message: 'expected a number but got Infinity' });
    expect(failure('number', undefined, [1])).toEqual({ rule: 'number', message: 'expected a number but got a list' });
  });
  it('refuses fractions when integer is true', () => {
    expect(run('number', { integer: true }, '1,234')).toBe(1234);
    expect(failure('number', { integer: true }, '12.5')).toEqual({ rule: 'number', message: '"12.5" is not a whole number' });
    expect(failure('number', { integer: true }, 0.5)).toEqual({ rule: 'number', message: '"0.5" is not a whole number' });
  });
  it('refuses unknown arguments', () => {
    expect(argError('number', { int: true })).toBe('unknown argument "int" (expected one of: integer)');
  });
});

describe('formatNumber', () => {
  it('rounds to the decimals, half away from zero, on the decimal digits', () => {
    expect(run('formatNumber', 2, 1.005)).toBe('1.01');
    expect(run('formatNumber', 2, '2.675')).toBe('2.68');
    expect(run('formatNumber', 2, -1.005)).toBe('-1.01');
    expect(run('formatNumber', 0, 2.5)).toBe('3');
    expect(run('formatNumber', 0, -2.5)).toBe('-3');
    expect(run('formatNumber', 2, 9.999)).toBe('10.00');
    expect(run('formatNumber', 2, 12)).toBe('12.00');
  });
  it('keeps the number\'s own decimals when none are given', () => {
    expect(run('formatNumber', undefined, 1234.5)).toBe('1234.5');
    expect(run('formatNumber', undefined, 1e21)).toBe('1000000000000000000000');
    expect(run('formatNumber', undefined, 1e-7)).toBe('0.0000001');
  });
  it('adds thousands separators and places the sign', () => {
    expect(run('formatNumber', { decimals: 2, thousands: true }, '£1234567.891')).toBe('1,234,567.89');
    expect(run('formatNumber', { decimals: 2, sign: 'trailing' }, -12.3)).toBe('12.30-');
    expect(run('formatNumber', { decimals: 1, thousands: true, sign: 'trailing' }, '-1,000')).toBe('1,000.0-');
  });
  it('never writes minus zero', () => {
    expect(run('formatNumber', 2, -0.001)).toBe('0.00');
    expect(run('formatNumber', 0, -0)).toBe('0');
  });
  it('fails on non-numeric text', () => {
    expect(failure('formatNumber', 2, 'twelve')).toEqual({ rule: 'number', message: '"twelve" is not a number' });
  });
  it('refuses bad arguments', () => {
    expect(argError('formatNumber', -1)).toBe('argument "decimals" must be at least 0');
    expect(argError('formatNumber', { sign: 'brackets' })).toBe('argument "sign" must be one of: leading, trailing');
  });
});

describe('impliedDecimals', () => {
  it.each([
    [12.34, 2, '1234'],
    ['12.3', 2, '1230'],
    [12.345, 2, '1235'],
    [12.344, 2, '1234'],
    [0.05, 2, '5'],
    [0, 2, '0'],
    [7, 0, '7'],
    [-12.34, 2, '-1234'],
    [-0.005, 2, '-1'],
    [-0.004, 2, '0'],
    ['1,234.5', 3, '1234500'],
  ])('writes %j with %i places as %j', (value, places, expected) => {
    expect(run('impliedDecimals', places, value)).toBe(expected);
  });
  it('puts the minus at the end with sign: trailing', () => {
    expect(run('impliedDecimals', { places: 2, sign: 'trailing' }, -12.34)).toBe('1234-');
  });
  it('requires places', () => {
    expect(argError('impliedDecimals', {})).toBe('argument "places" is required');
  });
});
