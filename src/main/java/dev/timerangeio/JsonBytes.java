package dev.timerangeio;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable buffer of canonical JSON as UTF-8 bytes, and the writers of its scalars: strings
 * escaped as {@link IdempotencyKeys#writeString} escapes them, integers, ASCII text. {@link
 * FastCanonicalJson} writes a value into it, and the key is hashed from these bytes, with no
 * String, StringBuilder or UTF-8 encoding pass in between (issue 19). What only the general path
 * may write (a lone surrogate) throws {@link FastCanonicalJson.Unsupported}.
 */
final class JsonBytes {
  /** Arrays much larger than this can't be allocated on most JVMs. */
  private static final int MAX_CAPACITY = Integer.MAX_VALUE - 16;

  /**
   * How each ASCII char is written in a string: 0 as it is, else the letter after the backslash
   * ({@code u} for {@code \}{@code u00xx}).
   */
  private static final byte[] ESCAPES = new byte[128];

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  /** Strings this long are scanned in bulk; for shorter ones getBytes' array costs more. */
  private static final int BULK_MIN_CHARS = 16;

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long LOW_BITS = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;

  /** "00", "01", … "99". */
  private static final byte[] DIGIT_PAIRS = new byte[200];

  private static final double LOG10_2 = 0.30102999566398120;

  /** 10^0 … 10^22: the powers of ten a double holds exactly. */
  private static final double[] POWERS_OF_TEN = new double[23];

  private static final long[] POWERS_OF_TEN_LONG = new long[19];

  static {
    double power = 1;
    for (int i = 0; i < POWERS_OF_TEN.length; i++) {
      POWERS_OF_TEN[i] = power; // exact: 10^i < 2^53·2^i
      power *= 10;
    }
    long powerLong = 1;
    for (int i = 0; i < POWERS_OF_TEN_LONG.length; i++) {
      POWERS_OF_TEN_LONG[i] = powerLong;
      powerLong *= 10;
    }
    for (int i = 0; i < 100; i++) {
      DIGIT_PAIRS[2 * i] = (byte) ('0' + i / 10);
      DIGIT_PAIRS[2 * i + 1] = (byte) ('0' + i % 10);
    }
    for (int c = 0; c < 0x20; c++) {
      ESCAPES[c] = 'u';
    }
    ESCAPES['"'] = '"';
    ESCAPES['\\'] = '\\';
    ESCAPES['\b'] = 'b';
    ESCAPES['\t'] = 't';
    ESCAPES['\n'] = 'n';
    ESCAPES['\f'] = 'f';
    ESCAPES['\r'] = 'r';
  }

  private byte[] bytes;
  private int length;

  JsonBytes(int capacity) {
    bytes = new byte[capacity];
  }

  /** The buffer, holding {@link #length()} bytes; valid until the next write. */
  byte[] bytes() {
    return bytes;
  }

  int length() {
    return length;
  }

  /** Forgets the bytes from {@code length} on. */
  void truncate(int length) {
    this.length = length;
  }

  /** Drops a buffer grown past {@code retained} bytes, so a huge value isn't kept. */
  void shrink(int retained, int initial) {
    if (bytes.length > retained) {
      bytes = new byte[initial];
    }
  }

  /** The bytes as text; they are UTF-8 of whole code points. */
  String text() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  boolean isNull() {
    return length == 4 && bytes[0] == 'n' && bytes[1] == 'u' && bytes[2] == 'l' && bytes[3] == 'l';
  }

  void punct(char c) {
    ensure(1);
    bytes[length++] = (byte) c;
  }

  /** Text that is ASCII (numbers, punctuation, literals), a byte per char. */
  void ascii(String s) {
    int n = s.length();
    ensure(n);
    byte[] b = bytes;
    int p = length;
    for (int i = 0; i < n; i++) {
      b[p++] = (byte) s.charAt(i);
    }
    length = p;
  }

  /** Canonical JSON the general path wrote, encoded as the whole text used to be. */
  void utf8(String s) {
    byte[] encoded = s.getBytes(StandardCharsets.UTF_8);
    ensure(encoded.length);
    System.arraycopy(encoded, 0, bytes, length, encoded.length);
    length += encoded.length;
  }

  /**
   * Appends {@code source[from, to)}, eight bytes at a time: {@code source} must hold up to 7 bytes
   * more after {@code to}, which are written past the end and then overwritten.
   */
  void appendPadded(byte[] source, int from, int to) {
    int n = to - from;
    ensure(n + 8L);
    byte[] b = bytes;
    int p = length;
    for (int i = 0; i < n; i += 8) {
      LONGS.set(b, p + i, (long) LONGS.get(source, from + i));
    }
    length = p + n;
  }

  /** A long's decimal digits, as {@code Long.toString}, without the String. */
  void longValue(long v) {
    if (v == Long.MIN_VALUE) {
      ascii("-9223372036854775808"); // the one long whose magnitude is no long
      return;
    }
    ensure(20);
    if (v < 0) {
      bytes[length++] = '-';
      v = -v;
    }
    int end = length + digitCount(v);
    digits(v, end);
    length = end;
  }

  /** Writes the decimal digits of {@code v} ≥ 0 so that they end before {@code end}. */
  void digits(long v, int end) {
    byte[] b = bytes;
    int p = end;
    while (v >= 100) { // two digits a division
      int pair = (int) (v % 100) << 1;
      v /= 100;
      b[--p] = DIGIT_PAIRS[pair + 1];
      b[--p] = DIGIT_PAIRS[pair];
    }
    if (v >= 10) {
      b[--p] = DIGIT_PAIRS[((int) v << 1) + 1];
      b[--p] = DIGIT_PAIRS[(int) v << 1];
    } else {
      b[--p] = (byte) ('0' + v);
    }
  }

  static int digitCount(long v) {
    int count = 1;
    for (long limit = 10; count < 19 && v >= limit; limit *= 10) {
      count++;
    }
    return count;
  }

  /**
   * Writes {@code d} and returns true if it is a decimal of at most 15 significant digits between
   * 10^-7 and 10^15 (0.0123, 200, -1234.5), as canonical JSON writes it: the digits plain, no
   * trailing zeros, no ".0". Else writes nothing and returns false, for Schubfach.
   *
   * <p>Why this is what the general path writes: with m = rint(|d|·10^k) below 10^15 and k ≤ 22, m
   * and 10^k are exact doubles, so {@code m / 10^k} is m·10^-k correctly rounded; when that is |d|,
   * the decimal m·10^-k, of at most 15 significant digits, rounds to |d|. Two decimals of at most
   * 15 significant digits never round to one normal double (DBL_DIG is 15: as 10^15 < 2^52, their
   * spacing is wider than a double's rounding interval), so no other decimal that short rounds to
   * |d|. What the general path picks is such a decimal: Schubfach's shortest one (at most as long
   * as this; of one or two digits where Java's rule wants two), then its one-digit rounding where
   * that reads back. So it is this one, written out plain.
   */
  boolean shortDecimal(double d) {
    double a = Math.abs(d);
    if (!(a >= 1e-7 && a < 1e15)) {
      return false; // NaN too
    }
    // a·10^k in [10^14, 10^16): floor(log10(a)) is floor(e·log10(2)) or one more.
    int k = 14 - (int) Math.floor(Math.getExponent(a) * LOG10_2);
    double scaled = a * POWERS_OF_TEN[k];
    if (scaled >= 1e15) {
      k--;
      scaled = a * POWERS_OF_TEN[k];
    }
    double m = Math.rint(scaled);
    if (m >= 1e15 || m < 1 || m / POWERS_OF_TEN[k] != a) {
      return false;
    }
    long digits = (long) m;
    // Drop the fraction's trailing zeros, 8, 4, 2 and 1 at a time: there are at most 14.
    if (k >= 8 && digits % 100_000_000 == 0) {
      digits /= 100_000_000;
      k -= 8;
    }
    if (k >= 4 && digits % 10_000 == 0) {
      digits /= 10_000;
      k -= 4;
    }
    if (k >= 2 && digits % 100 == 0) {
      digits /= 100;
      k -= 2;
    }
    if (k >= 1 && digits % 10 == 0) {
      digits /= 10;
      k -= 1;
    }
    int count = digitCount(digits);
    ensure(3 + k + count); // sign, "0.", zeros, digits
    byte[] b = bytes;
    int p = length;
    if (d < 0) {
      b[p++] = '-';
    }
    if (k == 0) {
      p += count;
      digits(digits, p);
    } else if (count > k) {
      long whole = digits / POWERS_OF_TEN_LONG[k];
      int wholeEnd = p + count - k;
      digits(whole, wholeEnd);
      b[wholeEnd] = '.';
      p = wholeEnd + 1 + k;
      fraction(digits - whole * POWERS_OF_TEN_LONG[k], p, k);
    } else {
      b[p++] = '0';
      b[p++] = '.';
      for (int i = count; i < k; i++) {
        b[p++] = '0';
      }
      p += count;
      digits(digits, p);
    }
    length = p;
    return true;
  }

  /** Writes {@code v} as exactly {@code width} digits, leading zeros kept, ending before end. */
  private void fraction(long v, int end, int width) {
    byte[] b = bytes;
    for (int p = end - 1; p >= end - width; p--) {
      b[p] = (byte) ('0' + v % 10);
      v /= 10;
    }
  }

  /**
   * A string, quoted and escaped as RFC 8785 says, UTF-8 encoded by hand: ASCII a byte per char by
   * table, a surrogate pair one 4-byte code point, a lone surrogate {@link
   * FastCanonicalJson.Unsupported} (the general path says where). A long string's plain ASCII
   * prefix is copied in bulk ({@link #plainPrefix}).
   */
  void string(String s) {
    int n = s.length();
    // Room for the quotes and a byte per char; a char needing more makes room for itself.
    ensure(n + 2L);
    byte[] b = bytes;
    int p = length;
    b[p++] = '"';
    int i = 0;
    if (n >= BULK_MIN_CHARS) {
      // A Latin-1 string's bytes are one array copy; chars beyond Latin-1 become '?' (a pair one
      // '?', so the length differs), which plainPrefix tells from a real '?'.
      byte[] latin1 = s.getBytes(StandardCharsets.ISO_8859_1);
      if (latin1.length == n) {
        i = plainPrefix(s, latin1);
        System.arraycopy(latin1, 0, b, p, i);
        p += i;
      }
    }
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80 && ESCAPES[c] == 0) {
        b[p++] = (byte) c;
        continue;
      }
      length = p;
      ensure(n - i + 6L); // this char's ≤ 6 bytes, a byte for each one left, the closing quote
      b = bytes;
      if (c < 0x80) {
        byte escape = ESCAPES[c];
        b[p++] = '\\';
        b[p++] = escape;
        if (escape == 'u') {
          b[p++] = '0';
          b[p++] = '0';
          b[p++] = HEX[c >> 4];
          b[p++] = HEX[c & 0xF];
        }
      } else if (c < 0x800) {
        b[p++] = (byte) (0xC0 | c >> 6);
        b[p++] = (byte) (0x80 | c & 0x3F);
      } else if (!Character.isSurrogate(c)) {
        b[p++] = (byte) (0xE0 | c >> 12);
        b[p++] = (byte) (0x80 | c >> 6 & 0x3F);
        b[p++] = (byte) (0x80 | c & 0x3F);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        b[p++] = (byte) (0xF0 | cp >> 18);
        b[p++] = (byte) (0x80 | cp >> 12 & 0x3F);
        b[p++] = (byte) (0x80 | cp >> 6 & 0x3F);
        b[p++] = (byte) (0x80 | cp & 0x3F);
      } else {
        // A lone surrogate: the general path says where.
        throw FastCanonicalJson.Unsupported.INSTANCE;
      }
    }
    b[p++] = '"';
    length = p;
  }

  /**
   * How many leading chars of {@code s} are written as they are, one ASCII byte each, as read from
   * {@code latin1} ({@code s} in ISO-8859-1, a byte per char), maybe fewer: eight at a time while
   * none is a control char, {@code "}, {@code \}, non-ASCII or {@code ?} (which may stand for a
   * char beyond Latin-1); past a flagged byte that is a real {@code ?} of {@code s}; the last bytes
   * as one word overlapping those checked. The first flagged byte of a word is a true one (a borrow
   * only runs on from a flagged byte), and a true one is always flagged.
   */
  private static int plainPrefix(String s, byte[] latin1) {
    int n = latin1.length;
    int i = 0;
    while (i <= n - 8) {
      long flags = specials((long) LONGS.get(latin1, i));
      if (flags == 0) {
        i += 8;
        continue;
      }
      int first = i + (Long.numberOfTrailingZeros(flags) >>> 3);
      if (latin1[first] != '?' || s.charAt(first) != '?') {
        return first;
      }
      i = first + 1;
    }
    if (i < n && n >= 8) {
      // Only the flags of bytes from i count: those below are plain, or a '?' that may borrow.
      long flags = specials((long) LONGS.get(latin1, n - 8)) & (-1L << ((i - (n - 8)) << 3));
      if (flags != 0) {
        return n - 8 + (Long.numberOfTrailingZeros(flags) >>> 3); // the char loop goes on there
      }
      return n;
    }
    return i;
  }

  /**
   * Nonzero when one of the 8 bytes of {@code x} is below 0x20, {@code "}, {@code \}, {@code ?} or
   * from 0x80; zero otherwise. The usual SWAR tests: a byte below 0x20 borrows into its high bit, a
   * byte equal to {@code c} is a zero byte of {@code x ^ c}; a borrow only ever runs on from a byte
   * that is itself flagged, so the result is exact as a zero test.
   */
  private static long specials(long x) {
    long quote = x ^ (LOW_BITS * '"');
    long backslash = x ^ (LOW_BITS * '\\');
    long question = x ^ (LOW_BITS * '?');
    return ((x - LOW_BITS * 0x20) & ~x
            | (quote - LOW_BITS) & ~quote
            | (backslash - LOW_BITS) & ~backslash
            | (question - LOW_BITS) & ~question
            | x)
        & HIGH_BITS;
  }

  /** Makes room for {@code more} bytes; a value too large for an array goes the general way. */
  void ensure(long more) {
    long needed = length + more;
    if (needed <= bytes.length) {
      return;
    }
    if (needed > MAX_CAPACITY) {
      throw FastCanonicalJson.Unsupported.INSTANCE;
    }
    bytes = Arrays.copyOf(bytes, (int) Math.min(MAX_CAPACITY, Math.max(needed, 2L * bytes.length)));
  }
}
