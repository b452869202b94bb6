import { describe, expect, it } from 'vitest';
import { isValidAddress, maskAddress, toSmppAddress } from '../../service/src/smpp/address.js';

describe('toSmppAddress', () => {
  it('maps +E.164 to international ISDN without the plus', () => {
    expect(toSmppAddress('+6591234567')).toEqual({ ton: 1, npi: 1, addr: '6591234567' });
  });

  it('maps up to 8 digits to a short code', () => {
    expect(toSmppAddress('12345')).toEqual({ ton: 3, npi: 0, addr: '12345' });
    expect(toSmppAddress('12345678')).toEqual({ ton: 3, npi: 0, addr: '12345678' });
  });

  it('maps more than 8 digits to international ISDN', () => {
    expect(toSmppAddress('123456789')).toEqual({ ton: 1, npi: 1, addr: '123456789' });
  });

  it('maps anything else to an alphanumeric sender kept as given', () => {
    expect(toSmppAddress('8x8')).toEqual({ ton: 5, npi: 0, addr: '8x8' });
    expect(toSmppAddress('My Shop')).toEqual({ ton: 5, npi: 0, addr: 'My Shop' });
  });

  it('lets an override replace the derived ton and npi', () => {
    expect(toSmppAddress('+6591234567', { ton: 0 })).toEqual({ ton: 0, npi: 1, addr: '6591234567' });
    expect(toSmppAddress('8x8', { ton: 0, npi: 9 })).toEqual({ ton: 0, npi: 9, addr: '8x8' });
  });
});

describe('isValidAddress', () => {
  it.each(['+6591234567', '+123456', '+123456789012345', '123', '12345678', '6591234567', '123456789012345', '8x8', 'Shop & Co.', 'A', 'a-b.c'])(
    'accepts %j',
    (input) => {
      expect(isValidAddress(input)).toBe(true);
    },
  );

  it.each(['', '+12345', '+1234567890123456', '12', '1234567890123456', 'abcdefghijkl', '1234 5', 'ab!c', '+65 9123', 'ë', '...'])(
    'rejects %j',
    (input) => {
      expect(isValidAddress(input)).toBe(false);
    },
  );
});

describe('maskAddress', () => {
  it('keeps the first 4 and last 2 characters of a long address', () => {
    expect(maskAddress('6591234567')).toBe('6591****67');
    expect(maskAddress('+6591234567')).toBe('+659*****67');
  });

  it('keeps only the last 2 characters of a short value', () => {
    expect(maskAddress('12345')).toBe('***45');
    expect(maskAddress('8x8')).toBe('*x8');
  });

  it('masks values of 2 characters or fewer entirely', () => {
    expect(maskAddress('ab')).toBe('**');
    expect(maskAddress('')).toBe('');
  });
});
