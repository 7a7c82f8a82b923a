define internal float @bf16_to_f32(i16 %b) #0 {
  %w = zext i16 %b to i32
  %s = shl i32 %w, 16
  %f = bitcast i32 %s to float
  ret float %f
}
define internal i16 @f32_to_bf16(float %f) #0 {
  %u = bitcast float %f to i32
  %a = and i32 %u, 2147483647
  %isnan = icmp ugt i32 %a, 2139095040
  %h = lshr i32 %u, 16
  %nan = or i32 %h, 64
  %lsb = and i32 %h, 1
  %r0 = add i32 %u, 32767
  %r1 = add i32 %r0, %lsb
  %r = lshr i32 %r1, 16
  %res = select i1 %isnan, i32 %nan, i32 %r
  %t = trunc i32 %res to i16
  ret i16 %t
}
attributes #0 = { alwaysinline nounwind }

attributes #1 = { nounwind "frame-pointer"="none" }
define void @matmul_0(ptr %p0, ptr %p1, ptr %p2, i32 %start, i32 %end) #1 {
entry:
  %l6.addr = alloca i32
  %l9.addr = alloca i32
  %acc11 = alloca float
  %l12.addr = alloca i32
  br label %body0
body0:
  store i32 %start, ptr %l6.addr
  br label %head6
head6:
  %l6 = load i32, ptr %l6.addr
  %cond6 = icmp slt i32 %l6, %end
  br i1 %cond6, label %loop6, label %exit6
loop6:
  %t1 = mul i32 %l6, 80
  %t2 = mul i32 %l6, 48
  store i32 0, ptr %l9.addr
  br label %head9
head9:
  %l9 = load i32, ptr %l9.addr
  %cond9 = icmp slt i32 %l9, 80
  br i1 %cond9, label %loop9, label %exit9
loop9:
  %t3 = add i32 %t1, %l9
  store float 0x0000000000000000, ptr %acc11
  store i32 0, ptr %l12.addr
  br label %head12
head12:
  %l12 = load i32, ptr %l12.addr
  %cond12 = icmp slt i32 %l12, 48
  br i1 %cond12, label %loop12, label %exit12
loop12:
  %t4 = add i32 %t2, %l12
  %t6 = getelementptr inbounds float, ptr %p1, i32 %t4
  %t5 = load float, ptr %t6
  %t8 = mul i32 %l12, 80
  %t9 = add i32 %t8, %l9
  %t11 = getelementptr inbounds float, ptr %p2, i32 %t9
  %t10 = load float, ptr %t11
  %t13 = fmul float %t5, %t10
  %t14 = load float, ptr %acc11
  %t15 = fadd float %t14, %t13
  store float %t15, ptr %acc11
  %t16 = add nsw i32 %l12, 1
  store i32 %t16, ptr %l12.addr
  br label %head12
exit12:
  %t17 = load float, ptr %acc11
  %t19 = getelementptr inbounds float, ptr %p0, i32 %t3
  store float %t17, ptr %t19
  %t20 = add nsw i32 %l9, 1
  store i32 %t20, ptr %l9.addr
  br label %head9
exit9:
  %t21 = add nsw i32 %l6, 1
  store i32 %t21, ptr %l6.addr
  br label %head6
exit6:
  ret void
}
